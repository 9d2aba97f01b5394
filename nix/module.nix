# NixOS module: services.domain-os.
#
#   services.domain-os = {
#     enable = true;
#     settings.epp.server_name = "epp.nic.example";
#     credentials."epp.key" = "/run/keys/epp.key";
#     settings.epp.private_key_file = "/run/credentials/domain-os.service/epp.key";
#     openFirewall = true;
#   };
#
# `settings` is domain-os.toml as a Nix value (see domain-os.example.toml for
# every setting); it is rendered with pkgs.formats.toml. Secrets never go
# into the store: name them in `credentials`, which systemd passes with
# LoadCredential= to the service alone.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.domain-os;
  format = pkgs.formats.toml { };
  configFile = format.generate "domain-os.toml" cfg.settings;
  portOf = address: lib.toInt (lib.last (lib.splitString ":" address));
  ports = service: map portOf (cfg.settings.${service}.listen or [ ]);
in
{
  options.services.domain-os = {
    enable = lib.mkEnableOption "domain-os, a domain registry appliance (EPP, DNS, RDAP, WHOIS)";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The domain-os package to run.";
    };

    settings = lib.mkOption {
      type = format.type;
      default = { };
      example = lib.literalExpression ''
        {
          epp.server_name = "epp.nic.example";
          dns.secondaries = [ { address = "192.0.2.53:53"; key = "transfer"; } ];
          backup.interval_s = 3600;
        }
      '';
      description = ''
        domain-os.toml as a Nix value; unset settings keep their defaults
        (domain-os.example.toml lists them). The module sets the state
        folders to /var/lib/domain-os and the public services to their
        standard ports.
      '';
    };

    credentials = lib.mkOption {
      type = lib.types.attrsOf lib.types.path;
      default = { };
      example = { "epp.key" = "/run/keys/epp.key"; "transfer.tsig" = "/run/keys/transfer.tsig"; };
      description = ''
        Secret files passed by LoadCredential=, readable by the service at
        /run/credentials/domain-os.service/NAME: point TLS keys and TSIG key
        files there from `settings`.
      '';
    };

    extraArgs = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "--demo" ];
      description = "Arguments after `serve` (`--demo` seeds the demo registry).";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open the configured DNS (TCP and UDP), EPP, RDAP and WHOIS ports.";
    };
  };

  config = lib.mkIf cfg.enable {
    services.domain-os.settings = {
      data_dir = lib.mkDefault "/var/lib/domain-os";
      zones_dir = lib.mkDefault "/var/lib/domain-os/zones";
      dns.listen = lib.mkDefault [ "[::]:53" ];
      epp.listen = lib.mkDefault [ "[::]:700" ];
      rdap.listen = lib.mkDefault [ "[::]:443" ];
      whois.listen = lib.mkDefault [ "[::]:43" ];
    };

    environment.systemPackages = [ cfg.package ];

    networking.firewall = lib.mkIf cfg.openFirewall {
      allowedTCPPorts = ports "dns" ++ ports "epp" ++ ports "rdap" ++ ports "whois";
      allowedUDPPorts = ports "dns";
    };

    # The same hardening as systemd/domain-os.service; the module binds the
    # privileged ports itself, so it keeps CAP_NET_BIND_SERVICE and nothing else.
    systemd.services.domain-os = {
      description = "domain-os registry appliance (EPP, DNS, RDAP, WHOIS)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      restartTriggers = [ configFile ];
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = lib.escapeShellArgs ([ (lib.getExe cfg.package) "--config" configFile "serve" ] ++ cfg.extraArgs);
        Restart = "on-failure";
        RestartSec = "2s";
        WatchdogSec = "30s";
        TimeoutStopSec = "60s";
        LimitNOFILE = 65536;
        LoadCredential = lib.mapAttrsToList (name: path: "${name}:${path}") cfg.credentials;

        DynamicUser = true;
        StateDirectory = "domain-os";
        StateDirectoryMode = "0750";
        WorkingDirectory = "/var/lib/domain-os";
        UMask = "0077";

        CapabilityBoundingSet = [ "CAP_NET_BIND_SERVICE" ];
        AmbientCapabilities = [ "CAP_NET_BIND_SERVICE" ];
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateMounts = true;
        ProtectHostname = true;
        ProtectClock = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        KeyringMode = "private";
        DevicePolicy = "closed";
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" "~@privileged @resources" ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}

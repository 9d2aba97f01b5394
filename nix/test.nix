# NixOS VM test: domain-os (the demo registry) as primary, Knot DNS as its
# secondary (NOTIFY, then AXFR), and a client that queries both with kdig and
# says hello over EPP. Run from a nixpkgs checkout: nix-build nix -A test.
{ package }:

let
  # Reads the EPP greeting (RFC 5734 framing: a 4-byte length, then XML),
  # sends <hello/> and prints the greeting that answers it.
  eppHello = builtins.toFile "epp-hello.py" ''
    import socket, ssl, struct, sys
    host, port = sys.argv[1], int(sys.argv[2])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the demo's private CA
    with context.wrap_socket(socket.create_connection((host, port), timeout=10)) as tls:
        def frame():
            (length,) = struct.unpack(">I", tls.recv(4, socket.MSG_WAITALL))
            data = b""
            while len(data) < length - 4:
                data += tls.recv(length - 4 - len(data))
            return data.decode()
        frame()
        hello = b'<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>'
        tls.sendall(struct.pack(">I", len(hello) + 4) + hello)
        print(frame())
  '';
in
{
  name = "domain-os";

  nodes = {
    primary = { nodes, pkgs, ... }: {
      imports = [ ./module.nix ];
      environment.systemPackages = [ pkgs.curl ];
      services.domain-os = {
        enable = true;
        inherit package;
        extraArgs = [ "--demo" ];
        openFirewall = true;
        settings = {
          epp.server_name = "primary";
          dns.transfer_acl = [ { addresses = [ "${nodes.secondary.networking.primaryIPAddress}/32" ]; } ];
          dns.secondaries = [ { address = "${nodes.secondary.networking.primaryIPAddress}:53"; } ];
        };
      };
    };

    secondary = { nodes, ... }: {
      networking.firewall.allowedTCPPorts = [ 53 ];
      networking.firewall.allowedUDPPorts = [ 53 ];
      services.knot = {
        enable = true;
        settings = {
          server.listen = [ "0.0.0.0@53" ];
          remote = [ { id = "primary"; address = "${nodes.primary.networking.primaryIPAddress}@53"; } ];
          acl = [ { id = "primary-notify"; address = nodes.primary.networking.primaryIPAddress; action = "notify"; } ];
          template = [ { id = "default"; storage = "/var/lib/knot"; } ];
          zone = [ { domain = "example"; master = "primary"; acl = [ "primary-notify" ]; } ];
        };
      };
    };

    client = { pkgs, ... }: {
      environment.systemPackages = [ pkgs.knot-dns pkgs.python3 ];
    };
  };

  testScript = ''
    start_all()
    primary.wait_for_unit("domain-os.service")
    primary.wait_until_succeeds("curl -sf http://127.0.0.1:8081/health/ready")
    secondary.wait_for_unit("knot.service")

    # The primary answers: the apex SOA and a delegation of the demo registry.
    client.wait_until_succeeds("kdig @primary example SOA +short | grep -q .")
    client.succeed("kdig @primary hello.example NS +norec | grep -q 'hello.example.*NS'")

    # The secondary transferred the zone and serves the same serial.
    serial = client.succeed("kdig @primary example SOA +short").split()[2]
    client.wait_until_succeeds(f"kdig @secondary example SOA +short | grep -q ' {serial} '")
    client.succeed("kdig @secondary hello.example NS +norec | grep -q 'hello.example.*NS'")

    # EPP over TLS: the greeting, and again in answer to <hello/>.
    client.succeed("python3 ${eppHello} primary 700 | grep -q '<greeting>'")

    # Readiness came by sd_notify and the watchdog kept the service up.
    primary.succeed("systemctl show -p NRestarts --value domain-os | grep -qx 0")
    primary.succeed("curl -sf http://127.0.0.1:8081/metrics | grep -q domain_os_zone_serial")
  '';
}

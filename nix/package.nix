# The domain-os package: the one binary, its systemd units and the annotated
# example configuration. Build with `nix-build nix -A package` from a nixpkgs
# checkout (see nix/default.nix), or use nix/module.nix in a NixOS system.
{ lib, rustPlatform, makeWrapper, xmlsec }:

rustPlatform.buildRustPackage {
  pname = "domain-os";
  version = "0.1.0";

  # The repository without build output and local state.
  src = lib.cleanSourceWith {
    src = lib.cleanSource ../.;
    filter = path: type:
      let name = baseNameOf path; in
      !(type == "directory" && builtins.elem name [ "target" "data" "zones" ".git" ]);
  };
  cargoLock.lockFile = ../Cargo.lock;

  # xmlsec1 verifies the XML signatures of signed marks (sunrise creates).
  nativeBuildInputs = [ makeWrapper ];

  # The test suite starts NSD, Knot, Prometheus and systemd's tools on
  # loopback, which the build sandbox does not have; nix/test.nix runs the
  # service itself in a VM instead.
  doCheck = false;

  postInstall = ''
    install -Dm644 systemd/domain-os.service $out/lib/systemd/system/domain-os.service
    install -Dm644 systemd/domain-os.socket $out/lib/systemd/system/domain-os.socket
    substituteInPlace $out/lib/systemd/system/domain-os.service \
      --replace-fail /usr/bin/domain-os $out/bin/domain-os
    install -Dm644 domain-os.example.toml $out/share/doc/domain-os/domain-os.example.toml
    wrapProgram $out/bin/domain-os --prefix PATH : ${lib.makeBinPath [ xmlsec ]}
  '';

  meta = {
    description = "Domain registry appliance: EPP, authoritative DNS, RDAP and WHOIS from one embedded store";
    license = lib.licenses.asl20;
    mainProgram = "domain-os";
    platforms = lib.platforms.linux;
  };
}

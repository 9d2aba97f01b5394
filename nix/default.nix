# Entry points for a nixpkgs checkout:
#   nix-build nix -A package
#   nix-build nix -A test          # the NixOS VM test (nix/test.nix)
{ pkgs ? import <nixpkgs> { } }:

let
  package = pkgs.callPackage ./package.nix { };
in
{
  inherit package;
  module = ./module.nix;
  test = pkgs.testers.runNixOSTest (import ./test.nix { inherit package; });
}

# EXAMPLE hardware: replace this file with your host's own
# (`nixos-generate-config --show-hardware-config > nix/hosts/cc-ci/hardware.nix`).
{ lib, ... }:
{
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";

  boot.loader.grub = {
    enable = true;
    device = lib.mkDefault "/dev/sda";
  };

  fileSystems."/" = lib.mkDefault {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };

  networking.useDHCP = lib.mkDefault true;
}

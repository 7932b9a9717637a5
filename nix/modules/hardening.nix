# The systemd hardening of cc-ci's host services that need neither root nor Docker (the
# bridge, the dashboard): a dynamic user, a read-only system, no devices, no capabilities,
# IP and Unix sockets only. Not a module: `import ./hardening.nix { inherit lib; }` gives
# serviceConfig settings, each at lib.mkDefault, so an operator loosens one with a plain
# definition, e.g. `systemd.services.cc-ci-dashboard.serviceConfig.ProtectHome = false;`.
{ lib }:
lib.mapAttrs (_: lib.mkDefault) {
  DynamicUser = true;
  UMask = "0077";
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  NoNewPrivileges = true;
  CapabilityBoundingSet = "";
  RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  ProtectClock = true;
  ProtectHostname = true;
  ProtectKernelLogs = true;
  ProtectKernelModules = true;
  ProtectKernelTunables = true;
  ProtectControlGroups = true;
  SystemCallArchitectures = "native";
  SystemCallFilter = [ "@system-service" "~@privileged" ];
}

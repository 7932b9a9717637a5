"""The world only cc-ci's own tests need: never installed on a CI host, not in the wheel.

Stand-ins (each named as one): abra-sim (`abrasim`), forgesim (a simulator of the Gitea and
Drone API subset). Real programs started locally: a real Gitea (`real_gitea`). Builders:
the local proxy, small images, forge folders, the demo recipe and the replicas.
"""

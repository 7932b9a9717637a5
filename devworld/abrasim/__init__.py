"""abra-sim: a stand-in for the abra CLI, for machines where real abra cannot be installed.

It implements the subset of abra that cc-ci's harness uses, with abra's file layout under
$ABRA_DIR, against the real Docker daemon. It is a test double, like forgesim for Gitea and
Drone: it is never presented as abra, and production runs real abra. See docs/abra-sim.md.
"""

VERSION = "0.1.0"

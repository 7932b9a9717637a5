"""`python -m devworld.abrasim ARGS…`: see devworld.abrasim.cli."""

import sys

from devworld.abrasim.cli import main

sys.exit(main())

"""`python -m runner.abrasim ARGS…`: see runner.abrasim.cli."""

import sys

from runner.abrasim.cli import main

sys.exit(main())

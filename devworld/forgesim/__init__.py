"""forgesim: an HTTP simulator of the Gitea and Drone API subset cc-ci's bridge uses.

It keeps the status codes, field names and quirks docs/forge-api.md describes, served over
real HTTP on a loopback port. Tests build a world with the Python API (`Sim`); the command
line (`python -m devworld.forgesim`) serves a demo world and drives it through the control
API. Standard library only. See docs/testing.md.
"""

from devworld.forgesim.server import Sim

__all__ = ["Sim"]

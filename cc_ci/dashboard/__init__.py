"""The read-only web dashboard and badges over cc-ci's run records. Standard library only."""

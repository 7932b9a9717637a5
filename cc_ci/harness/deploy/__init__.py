"""Putting an app on the swarm and taking it off: abra, Docker, the lifecycle, the janitor."""

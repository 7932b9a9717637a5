"""The comment bridge: turns `!testme` on a recipe PR into one Drone build and reports back.

Standard library only.
"""

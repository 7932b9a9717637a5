"""The compose policy gate: what a recipe's compose files may ask of the CI host."""

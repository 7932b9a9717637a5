"""The vocabulary every part of cc-ci shares. Standard library only, imports nothing else of cc_ci."""

"""Local replicas of enrolled recipes, built from registries this machine reaches."""

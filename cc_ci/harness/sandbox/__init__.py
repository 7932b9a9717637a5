"""The throw-away container a recipe's own tests run in, its network and its image."""

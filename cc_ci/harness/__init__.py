"""cc-ci-run and the harness: fetch a recipe at a PR head, run the lifecycle stages, tear down."""

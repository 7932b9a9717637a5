"""cc-ci: continuous integration for Co-op Cloud recipes.

The flow, one folder a step (docs/architecture.md):

- `contract`  the vocabulary every part shares: stage names, name rules, the run record,
              the event line, the redactor, the env-file rules. Standard library only.
- `bridge`    `!testme` on a Gitea PR → a Drone build → the verdict back on the PR.
- `harness`   `cc-ci-run`, started by Drone: deploy the PR head with abra, run the stages,
              tear down, write the run record.
- `suite`     what a recipe's test suite imports: the pytest plugin and its fixtures.
- `dashboard` the run records as pages and badges.

What only the tests need (abra-sim, forgesim, the local proxy, the demo, the replicas) lives
in the repository's `devworld/`, which is never installed.
"""

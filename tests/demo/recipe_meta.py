"""cc-ci options for the demo recipe (see docs/writing-tests.md)."""

HEALTH_PATH = "/"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 120
EXTRA_ENV = {"GREETING": "hello"}

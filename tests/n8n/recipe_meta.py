# n8n: /healthz answers whenever the process is up; /healthz/readiness only once the
# database is connected and migrated.
HEALTH_PATH = "/healthz/readiness"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 600

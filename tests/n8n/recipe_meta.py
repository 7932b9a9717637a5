# n8n: /healthz answers whenever the process is up; /healthz/readiness only once the
# database is connected and migrated.
HEALTH_PATH = "/healthz/readiness"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 600
# Two n8n apps starting at once on a 2-core host starve each other: the editor's sign-in
# form took over 30 s to render in CI's first parallel run (the install chain's browser
# test timed out while the upgrade chain's n8n migrated). Its deployments run in series.
SERIAL = True

# matrix-synapse: Synapse (`app`) behind nginx (`web`), PostgreSQL in `db`.
HEALTH_PATH = "/_matrix/client/versions"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 420
# Synapse's own static page: "/" is not Synapse's to serve.
FRONT_PAGE = "/_matrix/static/"

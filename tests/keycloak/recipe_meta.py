# keycloak: Keycloak (`app`) with its database (`db`). The /health endpoints live on the
# management port 9000, which Traefik does not route: the master realm's endpoint is what
# answers once Keycloak serves requests.
HEALTH_PATH = "/realms/master"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 900
STAGE_TIMEOUT = 900
FRONT_PAGE = "/admin/master/console/"

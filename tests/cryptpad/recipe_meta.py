# cryptpad: no replica can be built on cc-ci's development machine (CryptPad is on no registry
# it reaches), so this suite has only been linted there; it runs on a real server.
#
# CryptPad serves its UI from the main domain and runs documents in an iframe from a
# separate sandbox domain: a sibling subdomain, covered by the test zone's wildcard.
HEALTH_PATH = "/"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 420
EXTRA_ENV = lambda domain: {"SANDBOX_DOMAIN": "sb" + domain}  # noqa: E731

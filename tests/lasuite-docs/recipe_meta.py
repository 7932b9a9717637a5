# lasuite-docs: no replica can be built on cc-ci's development machine (its backend, frontend
# and y-provider exist only as Docker Hub images), so this suite has only been linted there;
# it runs on a real server. Nine images and an S3 server: deploys are slow.
HEALTH_PATH = "/"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 1200
STAGE_TIMEOUT = 1200
EXTRA_ENV = {"TIMEOUT": "1200"}

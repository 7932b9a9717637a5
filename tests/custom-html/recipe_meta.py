# custom-html: nginx serving the files in its `content` volume (/usr/share/nginx/html).
HEALTH_PATH = "/"
HEALTH_OK = (200,)
DEPLOY_TIMEOUT = 300

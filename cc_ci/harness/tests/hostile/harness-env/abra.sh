export NGINX_CONF_VERSION=v1
export DOMAIN=ci.test

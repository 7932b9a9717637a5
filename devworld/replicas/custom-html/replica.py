"""custom-html: nginx serving the `content` volume.

Release 1.0.0 runs Debian bookworm's nginx, release 1.1.0 Debian trixie's, each with its own
swarm config version, so the upgrade replaces the image and the config, as a real recipe
release does.
"""

from devworld.forge import Release
from devworld.replicas import images

DATA_VOLUMES = ("content",)


def releases() -> list[Release]:
    old, old_v = images.nginx("bookworm")
    new, new_v = images.nginx("trixie")
    return [
        Release(
            f"1.0.0+{old_v}",
            f"custom-html 1.0.0+{old_v}",
            {
                "NGINX_IMAGE": old,
                "NGINX_VERSION": old_v,
                "CONF_VERSION": "v6",
                "CONF_EXTRA": "",
                "RELEASE": f"1.0.0+{old_v}",
            },
        ),
        Release(
            f"1.1.0+{new_v}",
            f"custom-html 1.1.0+{new_v}: nginx {new_v}, gzip on",
            {
                "NGINX_IMAGE": new,
                "NGINX_VERSION": new_v,
                "CONF_VERSION": "v7",
                "CONF_EXTRA": "    gzip on;\n    gzip_types text/plain text/css application/json;",
                "RELEASE": f"1.1.0+{new_v}",
            },
        ),
    ]

"""matrix-synapse: Synapse (PyPI) behind nginx, with PostgreSQL 15.

Release 1.0.0 runs Synapse 1.162.0, release 1.1.0 Synapse 1.163.2: the upgrade applies 1.163's
schema delta (main/delta/94/11_destination_room_sticky_events.sql) at startup.
"""

from devworld.forge import Release
from devworld.replicas import images
from devworld.replicas.build import release_per_version

DATA_VOLUMES = ("data", "postgres")
VERSIONS = ("1.162.0", "1.163.2")


def releases() -> list[Release]:
    nginx, _ = images.nginx("bookworm")
    postgres, _ = images.postgres()
    return release_per_version(
        "matrix-synapse",
        VERSIONS,
        lambda v: {
            "SYNAPSE_IMAGE": images.synapse(v),
            "POSTGRES_IMAGE": postgres,
            "NGINX_IMAGE": nginx,
        },
    )

"""n8n: n8n (npm) on Node.js 22, with PostgreSQL 15.

Release 1.0.0 runs n8n 2.7.5, release 1.1.0 n8n 2.8.4 (its @n8n/db moves from 1.7.4 to 1.8.2):
the upgrade runs whatever migrations lie between them at startup.
"""

from devworld.forge import Release
from devworld.replicas import images
from devworld.replicas.build import release_per_version

DATA_VOLUMES = ("data", "postgres")
VERSIONS = ("2.7.5", "2.8.4")


def releases() -> list[Release]:
    postgres, _ = images.postgres()
    return release_per_version(
        "n8n", VERSIONS, lambda v: {"N8N_IMAGE": images.n8n(v), "POSTGRES_IMAGE": postgres}
    )

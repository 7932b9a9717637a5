"""keycloak: Keycloak (Maven Central) on OpenJDK 17, with PostgreSQL 15.

Release 1.0.0 runs Keycloak 26.4.7, release 1.1.0 Keycloak 26.5.6: the upgrade runs the
26.5.0 Liquibase changesets at startup.
"""

from devworld.forge import Release
from devworld.replicas import images
from devworld.replicas.build import release_per_version

DATA_VOLUMES = ("postgres",)
VERSIONS = ("26.4.7", "26.5.6")


def releases() -> list[Release]:
    postgres, _ = images.postgres()
    return release_per_version(
        "keycloak",
        VERSIONS,
        lambda v: {"KEYCLOAK_IMAGE": images.keycloak(v), "POSTGRES_IMAGE": postgres},
    )

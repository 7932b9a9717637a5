"""keycloak: Keycloak (Maven Central) on OpenJDK 17, with PostgreSQL 15.

Release 1.0.0 runs Keycloak 26.4.7, release 1.1.0 Keycloak 26.5.6: the upgrade runs the
26.5.0 Liquibase changesets at startup.
"""

from replicas import images
from runner.forge import Release

DATA_VOLUMES = ("postgres",)
VERSIONS = ("26.4.7", "26.5.6")


def releases() -> list[Release]:
    postgres, _ = images.postgres()
    out = []
    for i, version in enumerate(VERSIONS):
        tag = f"1.{i}.0+{version}"
        out.append(
            Release(
                tag,
                f"keycloak {tag}",
                {
                    "KEYCLOAK_IMAGE": images.keycloak(version),
                    "POSTGRES_IMAGE": postgres,
                    "RELEASE": tag,
                },
            )
        )
    return out

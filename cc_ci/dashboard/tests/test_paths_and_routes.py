"""No request reaches outside the results directory: routing refuses, resolving double-checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cc_ci.contract.names import is_safe_relpath
from cc_ci.dashboard.paths import resolve_inside
from cc_ci.dashboard.routes import NOT_FOUND, Page, Route, route


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", Route(Page.OVERVIEW)),
        ("/?x=1", Route(Page.OVERVIEW)),
        ("/healthz", Route(Page.HEALTH)),
        ("/static/style.css?v=abc", Route(Page.STYLE)),
        ("/recipes/custom-html", Route(Page.RECIPE, "custom-html")),
        ("/runs/drone-42", Route(Page.RUN, "drone-42")),
        ("/runs/drone-42/install.log", Route(Page.ARTIFACT, "drone-42", "install.log")),
        (
            "/runs/drone-42/screenshots/install%20front.png",
            Route(Page.ARTIFACT, "drone-42", "screenshots/install front.png"),
        ),
        ("/badge/custom-html.svg", Route(Page.BADGE, "custom-html")),
        ("/badge/custom-html.svg?stage=upgrade", Route(Page.BADGE, "custom-html", stage="upgrade")),
        ("/badge/No Such.svg", Route(Page.BADGE, "No Such")),
        ("/api/recipes", Route(Page.API_RECIPES)),
        ("/api/recipes/custom-html", Route(Page.API_RECIPE, "custom-html")),
        (
            "/api/runs/local-20261123T120000Z-1a2b",
            Route(Page.API_RUN, "local-20261123T120000Z-1a2b"),
        ),
    ],
)
def test_each_documented_address_routes_to_its_page(target, expected):
    assert route(target) == expected


@pytest.mark.parametrize(
    "target",
    [
        "/runs/drone-1/../../etc/passwd",
        "/runs/drone-1/%2e%2e/%2e%2e/etc/passwd",
        "/runs/drone-1/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/runs/drone-1/..%2f..%2fetc%2fpasswd",
        "/runs/drone-1/%2Fetc%2Fpasswd",
        "/runs/drone-1//etc/passwd",
        "/runs/drone-1/./run.json",
        "/runs/drone-1/a\\..\\..\\b",
        "/runs/drone-1/log%00.png",
        "/runs/%2e%2e/etc/passwd",
        "/runs/../etc/passwd",
        "/runs/.hidden",
        "/recipes/..",
        "/recipes/%2e%2e%2f%2e%2e",
        "/recipes/<script>",
        "/api/runs/..",
        "/runs/drone-1/%ff%fe",
        "/etc/passwd",
        "//etc/passwd",
        "/recipes/custom-html/",
    ],
)
def test_paths_that_could_leave_the_results_directory_route_nowhere(target):
    assert route(target) == NOT_FOUND


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("install.log", True),
        ("screenshots/a b.png", True),
        ("a..b/c..", True),
        ("", False),
        ("/abs", False),
        ("../x", False),
        ("a/../b", False),
        ("a/./b", False),
        ("a//b", False),
        ("a/", False),
        ("a\\b", False),
        ("a\x00b", False),
    ],
)
def test_a_relative_path_is_safe_only_when_it_stays_below_its_folder(path, safe):
    assert is_safe_relpath(path) is safe


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """results/drone-1 with a log, an inner link, an escaping link; a secret beside results/."""
    root = tmp_path / "results"
    run = root / "drone-1"
    (run / "screenshots").mkdir(parents=True)
    (run / "install.log").write_text("ok\n")
    (tmp_path / "secret.txt").write_text("canary-secret\n")
    os.symlink(run / "install.log", run / "screenshots" / "same.log")
    os.symlink(tmp_path / "secret.txt", run / "escape.log")
    os.symlink("../../secret.txt", run / "relative-escape.log")
    os.symlink(tmp_path, root / "drone-2")
    return Path(os.path.realpath(root))


def test_a_file_in_the_run_folder_resolves(tree: Path):
    assert resolve_inside(tree, "drone-1", "install.log") == tree / "drone-1" / "install.log"


def test_a_link_to_another_file_of_the_same_run_resolves(tree: Path):
    assert (
        resolve_inside(tree, "drone-1", "screenshots/same.log") == tree / "drone-1" / "install.log"
    )


@pytest.mark.parametrize(
    ("run_id", "relpath"),
    [
        ("drone-1", "escape.log"),
        ("drone-1", "relative-escape.log"),
        ("drone-2", "secret.txt"),  # the run folder itself is a link out
        ("drone-1", "../../secret.txt"),
        ("drone-1", "screenshots"),  # a folder, not a file
        ("drone-1", "missing.log"),
        ("..", "secret.txt"),
        ("drone-9", "install.log"),
    ],
)
def test_symlinks_and_names_that_lead_outside_the_run_folder_resolve_to_nothing(
    tree: Path, run_id: str, relpath: str
):
    assert resolve_inside(tree, run_id, relpath) is None

# The cc-ci Python application: cc-ci-run (the harness), cc-ci-bridge, cc-ci-dashboard.
# Only the cc_ci package is built: devworld/ (the stand-ins only tests need) is left out.
# One pyproject.toml at the repository root; Playwright's browsers come from nixpkgs.
{ lib
, python3Packages
, playwright-driver
}:

python3Packages.buildPythonApplication {
  pname = "cc-ci";
  version = "0.1.0";
  pyproject = true;

  src = lib.fileset.toSource {
    root = ../..;
    fileset = lib.fileset.unions (map lib.fileset.maybeMissing [
      ../../pyproject.toml
      ../../README.md
      ../../cc_ci
    ]);
  };

  build-system = [ python3Packages.setuptools ];

  # The runner's extra (pyproject `runner`): the bridge and the dashboard need nothing else.
  dependencies = [
    python3Packages.pytest
    python3Packages.playwright
    python3Packages.pytest-base-url
    python3Packages.pytest-playwright
    python3Packages.pyyaml
    # `pip download` of the recipe-tests image's pinned wheels (cc_ci/harness/sandbox/image.py)
    python3Packages.pip
  ];

  # Playwright must find browsers built for its own version: nixpkgs keeps the two in step.
  makeWrapperArgs = [
    "--set-default"
    "PLAYWRIGHT_BROWSERS_PATH"
    "${playwright-driver.browsers}"
  ];

  # The project's own tests need Docker, abra and a browser; CI runs them, not the build.
  doCheck = false;
  pythonImportsCheck = [ "cc_ci.bridge" "cc_ci.harness.cli" "cc_ci.dashboard" ];

  meta = {
    description = "Continuous integration for Co-op Cloud recipes";
    license = lib.licenses.agpl3Plus;
    mainProgram = "cc-ci-run";
  };
}

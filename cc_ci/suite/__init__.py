"""What recipe suites use: the pytest plugin, its fixtures, the app client and the browser.

The recipe-tests image copies this folder and `cc_ci/contract` whole; nothing here imports
the harness.
"""

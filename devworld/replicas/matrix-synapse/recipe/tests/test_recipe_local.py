"""The replica's own recipe-local test (the upstream recipe ships none): the .well-known
delegation its web server serves points clients at the app's domain."""

import json


def test_well_known_client_points_at_the_app(app):
    r = app.get("/.well-known/matrix/client")
    assert r.status == 200
    assert json.loads(r.text)["m.homeserver"]["base_url"] == f"https://{app.domain}"

"""The replica's own recipe-local test (the upstream recipe ships none): the site answers."""


def test_the_site_answers_over_https(app):
    assert app.get("/").status == 200

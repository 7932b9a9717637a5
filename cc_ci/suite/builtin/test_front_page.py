"""cc-ci's own check, run in install and after upgrade: the front page loads in a browser."""

from __future__ import annotations


def test_front_page_loads_in_a_browser(app, page, screenshot, ccci_context):
    response = page.goto(app.url(ccci_context.front_page), wait_until="load")
    assert response is not None, "the browser got no response"
    assert response.status < 400, f"{app.url(ccci_context.front_page)} answered {response.status}"
    screenshot(page, "front")

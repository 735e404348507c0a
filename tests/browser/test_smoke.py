"""The server answers, Chromium renders the home page, and axe finds nothing serious."""

from playwright.sync_api import expect


def test_home_page_loads_and_passes_axe(page, axe):
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_be_visible()
    axe(page, "home")
    axe.assert_clean()

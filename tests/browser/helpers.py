"""Driving the pages as DESIGN.md names them: form fields by their `name`, buttons and links
by role and the words their accessible names begin with."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.factories import PASSWORD

WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# "Book Tuesday 9 March 2027 at 10:00 AEDT": full weekday, day, month and year, time and zone.
ZONE = r"[A-Z][A-Za-z0-9+-]{1,5}"
SLOT_BUTTON = re.compile(
    rf"^Book (?:{WEEKDAYS}) \d{{1,2}} (?:{MONTHS}) \d{{4}} at \d{{2}}:\d{{2}} {ZONE}\b"
)
ANY_BOOK_BUTTON = re.compile(r"^Book\b")


def starts_with(words: str) -> re.Pattern:
    """An accessible name that begins with `words` (more may follow: "Pay 95.00 AUD")."""
    return re.compile(rf"^\s*{re.escape(words)}\b")


def button(scope: Page | Locator, words: str) -> Locator:
    return scope.get_by_role("button", name=starts_with(words))


def button_or_link(scope: Page | Locator, words: str) -> Locator:
    name = starts_with(words)
    return scope.get_by_role("button", name=name).or_(scope.get_by_role("link", name=name))


def accessible_name(target: Locator) -> str:
    """The accessible name of one element, as the accessibility tree has it."""
    snapshot = target.aria_snapshot()
    match = re.match(r'^- \w+ "((?:[^"\\]|\\.)*)"', snapshot)
    assert match, f"no accessible name in {snapshot!r}"
    return match.group(1).replace('\\"', '"')


def field(scope: Page | Locator, name: str) -> Locator:
    """The form control named `name` (the API's field name, as DESIGN.md fixes them)."""
    return scope.locator(f'[name="{name}"]:not([type="hidden"])')


def set_field(scope: Page | Locator, name: str, value: str | bool) -> None:
    """Type, pick or tick whatever kind of control `name` is."""
    controls = field(scope, name)
    expect(controls.first).to_be_attached()
    first = controls.first
    tag = first.evaluate("e => e.tagName.toLowerCase()")
    kind = (first.get_attribute("type") or "").lower()
    if tag == "select":
        first.select_option(str(value))
    elif kind == "radio":
        scope.locator(f'input[type="radio"][name="{name}"][value="{value}"]').check()
    elif kind == "checkbox":
        first.set_checked(bool(value) and value not in ("false", "off", "0"))
    else:
        first.fill(str(value))


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form the page shows and send it."""
    set_field(page, "email", email)
    set_field(page, "password", password)
    button(page.locator("main"), "Sign in").click()


def assert_not_error_page(page: Page) -> None:
    title = page.title()
    assert not re.search(r"\b(500|Internal Server Error|Server error)\b", title), (
        f"{page.url} is an error page: {title!r}"
    )


def main_text(page: Page) -> str:
    return page.locator("main").inner_text()


def expect_ok(page: Page, response, *, allowed: tuple[int, ...] = (200,)) -> None:
    """The page the browser landed on answered one of `allowed`; else fail showing it."""
    assert response is not None, f"no response for {page.url}"
    if response.status not in allowed:
        try:
            shown = main_text(page)[:1500]
        except Exception:
            shown = page.content()[:1500]
        raise AssertionError(
            f"{response.request.method} {response.url} answered {response.status}, "
            f"expected {allowed}; the page shows:\n{shown}"
        )


def go(page: Page, path: str, **kwargs) -> None:
    """Open `path` and insist it answers 200."""
    expect_ok(page, page.goto(path), **kwargs)


def click_and_load(page: Page, target: Locator, **kwargs) -> None:
    """Click a link or a form's button and wait for the page it leads to (which must answer
    200 unless `allowed` says otherwise)."""
    with page.expect_navigation() as navigation:
        target.click()
    expect_ok(page, navigation.value, **kwargs)


def pick_option_containing(scope: Page | Locator, name: str, text: str) -> None:
    """Choose the option of select `name` whose text contains `text`."""
    select = field(scope, name).first
    value = select.evaluate(
        """(s, text) => {
            const o = [...s.options].find(o => o.textContent.includes(text));
            return o ? o.value : null;
        }""",
        text,
    )
    assert value is not None, f"select {name} has no option containing {text!r}"
    select.select_option(value)

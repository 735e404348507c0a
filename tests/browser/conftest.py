"""Browser tests: Debian's Chromium, driven by Playwright, against the app served by gunicorn.

Each xdist worker that runs a browser test starts, once, a server of its own: a fresh database
(a SQLite file, or a fresh PostgreSQL database in the PostgreSQL pass), its schema built by the
migrations, seeded with what the journeys need through `tests.factories`, and gunicorn on a free
loopback port. Every test opens new browser contexts; a failed test leaves a screenshot and the
HTML of each of its pages in `test-artifacts/browser/`, and its report shows what the server
logged meanwhile and every accessibility violation axe found so far.

Which pass of `make test` runs them: one. A pass costs about 30 s of test time (some 15-20 s
of wall time on two workers), so running them on both backends would double that for little:
they run in the PostgreSQL pass when there is one (`TEST_POSTGRES_URL` set, as CI always has
it), and in the SQLite pass otherwise. `BROWSER_TESTS_BACKEND=all` runs them in both passes
(`sqlite` or `postgres` pins one).

Each worker that draws a browser test starts its own server and Chromium (a few seconds).
They are also marked `xdist_group("browser")`, so that `--dist loadgroup` could put them all on
one worker; but with pytest 9.2 and pytest-xdist 3.8 that grouping silently does nothing
(pytest-dev/pytest-xdist#1386: the renamed node ids no longer take effect), so nothing here
relies on it.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import BACKEND, POSTGRES_URL, fresh_postgres_database

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_MISSING = (
    "Chromium is not installed: apt-get install -y chromium "
    "(the browser tests drive Debian's Chromium)"
)

MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 30_000  # only a failing step waits this long; a loaded CI machine is slow
EXPECT_TIMEOUT_MS = 10_000
SERVER_START_TIMEOUT_S = 60

# Values other parts of the environment may hold that must not reach the test server.
SERVER_ENV_DROPPED = (
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "SMTP_URL",
    "TRUSTED_HOSTS",
    "DATABASE_URL",
)


def _browser_backends() -> set[str]:
    chosen = os.environ.get("BROWSER_TESTS_BACKEND", "").strip().lower()
    if chosen == "all":
        return {"sqlite", "postgres"}
    if chosen:
        return {chosen}
    return {"postgres"} if POSTGRES_URL else {"sqlite"}


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return CHROMIUM_MISSING
    backends = _browser_backends()
    if BACKEND not in backends:
        return (
            f"browser tests run in the {' and '.join(sorted(backends))} pass of make test, "
            "not this one (BROWSER_TESTS_BACKEND=all runs them in every pass)"
        )
    return None


def _is_browser_test(item: pytest.Item) -> bool:
    return Path(item.path).resolve().parent == HERE


@pytest.hookimpl(tryfirst=True)  # before xdist reads `xdist_group` (with --dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this package's tests (committing: they leave the per-test rollback alone, since
    they write through a server of their own), or skip them all when they cannot run here."""
    reason = _skip_reason()
    for item in items:
        if not _is_browser_test(item):
            continue
        item.add_marker(pytest.mark.committing)
        item.add_marker(pytest.mark.xdist_group("browser"))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


# --- what a test's report shows when it fails -------------------------------------------------

FAILED = pytest.StashKey[bool]()
SERVER_LOG_START = pytest.StashKey[int]()
AUDIT = pytest.StashKey["AxeAudit"]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if not _is_browser_test(item) or report.when != "call" or not report.failed:
        return report
    item.stash[FAILED] = True
    audit = item.stash.get(AUDIT, None)
    if audit is not None and audit.found and not audit.reported:
        report.sections.append(("axe: serious and critical violations so far", audit.describe()))
    server = item.funcargs.get("live_server") if hasattr(item, "funcargs") else None
    if server is not None:
        start = item.stash.get(SERVER_LOG_START, 0)
        report.sections.append(("gunicorn log during the test", server.log_since(start)))
    return report


# --- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """What the journeys start from; every password is `tests.factories.PASSWORD`."""

    patient_email: str
    racer_emails: tuple[str, str]
    admin_email: str
    listing: object  # tests.factories.BuiltListing: the patient journey's practitioner
    listing_name: str
    race_listing: object
    race_listing_name: str
    pending_listing: object
    pending_listing_name: str
    price_text: str  # the seeded services' price as the pages show money


@dataclass
class LiveServer:
    url: str
    database_url: str
    app: object  # a Flask app on the same database, for seeding and for checking rows
    seed: Seed
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int, limit: int = 20_000) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
        return text[-limit:] or "(nothing logged)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn() -> str:
    beside = Path(sys.executable).parent / "gunicorn"
    return str(beside if beside.exists() else REPO / ".venv" / "bin" / "gunicorn")


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory) -> Iterator[str]:
    """A database of the server's own, on the backend of this pass."""
    if BACKEND == "postgres":
        if not POSTGRES_URL:
            pytest.exit("TEST_BACKEND=postgres needs TEST_POSTGRES_URL", returncode=2)
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'live.db'}"


def _seed(app) -> Seed:
    from marketplace.formatting import money
    from marketplace.practitioners.models import ListingStatus
    from tests.factories import create_listing, create_time_off, create_user

    every_day = [(day, "08:00", "18:00") for day in range(7)]
    price_cents = 12000
    settings = {
        "weekly_hours": every_day,
        "price_cents": price_cents,
        "slot_interval_minutes": 60,
        "min_notice_minutes": 0,
        "free_cancellation_hours": 24,
        "late_cancellation_fee_percent": 50,
    }
    tag = uuid.uuid4().hex[:4]
    listing_name = f"Dana Whitfield {tag}"
    race_name = f"Marco Ellison {tag}"
    pending_name = f"Priya Raman {tag}"
    listing = create_listing(app, name=listing_name, **settings)
    race_listing = create_listing(app, name=race_name, **settings)
    pending = create_listing(app, name=pending_name, status=ListingStatus.PENDING, **settings)

    # No time is offered in the next 26 hours: the earliest slot, which the journeys book, is
    # then a fixed instant (not one that the passing clock can take away mid-test), and far
    # enough ahead that cancelling it is free.
    now = datetime.now(UTC)
    blocked_until = (now + timedelta(hours=27)).replace(minute=0, second=0, microsecond=0)
    for built in (listing, race_listing, pending):
        create_time_off(
            app,
            built.id,
            start_at=now - timedelta(hours=1),
            end_at=blocked_until,
            reason="Browser tests: nothing in the next day",
        )

    _, patient = create_user(app, "patient", name="Pat Patient")
    _, racer_a = create_user(app, "patient", name="Riley Racer")
    _, racer_b = create_user(app, "patient", name="Sam Sprinter")
    _, admin = create_user(app, "admin", name="Ada Admin")
    return Seed(
        patient_email=patient,
        racer_emails=(racer_a, racer_b),
        admin_email=admin,
        listing=listing,
        listing_name=listing_name,
        race_listing=race_listing,
        race_listing_name=race_name,
        pending_listing=pending,
        pending_listing_name=pending_name,
        price_text=money(price_cents, "AUD"),
    )


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log_path.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /api/v1/health:\n{log_path.read_text()[-5000:]}")


@pytest.fixture(scope="session")
def live_server(live_database_url, tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn serving `wsgi:app` on 127.0.0.1 over a database migrated and seeded here."""
    import flask_migrate

    from config import normalise_database_url
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app(
        "development",
        SQLALCHEMY_DATABASE_URI=normalise_database_url(live_database_url),
        # Fast hashes for the seeded accounts (any method verifies); no limits in-process.
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        flask_migrate.upgrade()
    seed = _seed(app)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("browser-server") / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROPPED}
    env.update(
        DATABASE_URL=live_database_url,
        SECRET_KEY=secrets.token_hex(32),
        PAYMENTS_PROVIDER="simulated",
        MARKETPLACE_ENV="development",
        PUBLIC_BASE_URL=url,
        PYTHONUNBUFFERED="1",
    )
    command = [
        _gunicorn(),
        "-w",
        "2",
        "--threads",
        "4",
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "3",
        "--access-logfile",
        "-",
        "wsgi:app",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(url, process, log_path)
        yield LiveServer(url, live_database_url, app, seed, log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with app.app_context():
            db.engine.dispose()


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(live_server):
    """One headless Chromium per worker (after the server, so it closes before the server)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _artifact_name(node_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node_name).strip("_")


@pytest.fixture
def open_page(request, browser, live_server) -> Iterator[Callable]:
    """`open_page(viewport=MOBILE)` -> a page in a new browser context (its own cookies)."""
    request.node.stash[SERVER_LOG_START] = live_server.log_size()
    opened = []

    def open_(viewport: dict = MOBILE):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, accept_downloads=True
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        opened.append((context, page))
        return page

    yield open_
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        base = _artifact_name(request.node.name)
        for number, (_, page) in enumerate(opened, start=1):
            name = base if number == 1 else f"{base}-{number}"
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(
                    f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
                )
            except Exception as error:  # a crashed page must not hide the test's own failure
                (ARTIFACTS / f"{name}.txt").write_text(f"no screenshot: {error!r}\n")
    for context, _ in opened:
        context.close()


@pytest.fixture
def page(open_page):
    """A page 390 px wide, as on a phone."""
    return open_page(MOBILE)


@pytest.fixture
def desktop_page(open_page):
    return open_page(DESKTOP)


# --- accessibility ---------------------------------------------------------------------------

BLOCKING_IMPACTS = ("serious", "critical")


class AxeAudit:
    """axe-core on each page a journey visits; `assert_clean()` at the end fails with every
    serious or critical violation found on any of them (the journey goes on meanwhile, so one
    failure report names every page's problems). It also checks that the page does not scroll
    sideways (WCAG 1.4.10 Reflow; reported as `horizontal-scroll`)."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self._axe = Axe()
        self.pages: list[str] = []
        self.found: list[tuple[str, str, list[dict]]] = []
        self.reported = False

    def __call__(self, page, label: str) -> list[dict]:
        page.wait_for_load_state("load")
        results = self._axe.run(page)
        blocking = [
            violation
            for violation in results.response["violations"]
            if violation.get("impact") in BLOCKING_IMPACTS
        ]
        overflow = self._horizontal_overflow(page)
        if overflow:
            blocking.append(overflow)
        self.pages.append(label)
        if blocking:
            self.found.append((label, page.url, blocking))
        return blocking

    @staticmethod
    def _horizontal_overflow(page) -> dict | None:
        """Not an axe rule: the pages must not scroll sideways (at 390 px, issue 11). Reported
        in axe's shape, naming the elements that stick out past the viewport's right edge."""
        wide = page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                if (document.documentElement.scrollWidth <= width + 1) return null;
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    const box = el.getBoundingClientRect();
                    if (box.right > width + 1 && box.width > 0 && out.length < 10) {
                        const id = el.id ? '#' + el.id : '';
                        const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
                        out.push(`${el.tagName.toLowerCase()}${id}${cls}`
                                 + ` (right edge ${Math.round(box.right)} px)`);
                    }
                }
                return {width, scroll: document.documentElement.scrollWidth, out};
            }"""
        )
        if not wide:
            return None
        return {
            "id": "horizontal-scroll",
            "impact": "serious",
            "help": f"The page scrolls sideways: {wide['scroll']} px wide in {wide['width']} px",
            "helpUrl": "https://www.w3.org/WAI/WCAG22/Understanding/reflow.html",
            "nodes": [{"target": [target]} for target in wide["out"]],
        }

    def describe(self) -> str:
        lines = []
        for label, url, violations in self.found:
            lines.append(f"{label} ({url}):")
            for violation in violations:
                lines.append(
                    f"  [{violation['impact']}] {violation['id']}: {violation['help']}"
                    f" ({violation.get('helpUrl', '')})"
                )
                for node in violation["nodes"]:
                    target = " ".join(str(part) for part in node.get("target", []))
                    checks = node.get("any") or node.get("all") or node.get("none") or []
                    why = next((c["message"] for c in checks if c.get("message")), "")
                    lines.append(f"      at {target}" + (f": {why}" if why else ""))
        return "\n".join(lines)

    def assert_clean(self) -> None:
        if self.found:
            self.reported = True
            pytest.fail(
                "axe found serious or critical violations:\n" + self.describe(), pytrace=False
            )


@pytest.fixture
def axe(request) -> AxeAudit:
    audit = AxeAudit()
    request.node.stash[AUDIT] = audit
    return audit

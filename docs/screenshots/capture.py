"""Screenshots of the main pages, desktop and 390 px wide, from a running demo (`make run`).

    .venv/bin/python docs/screenshots/capture.py [http://127.0.0.1:5000]

Signs in with the demo accounts, books and pays one slot as the demo patient (so run it on a
throwaway demo database), and writes `<page>-desktop.png` and `<page>-mobile.png` here.
"""

import re
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}
DOMAIN = "demo.relieve.example"


def sign_in(page: Page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(f"{role}@{DOMAIN}")
    page.get_by_label("Password").fill(f"relieve-{role}-demo")
    page.get_by_role("button", name="Sign in").click()


def shoot(page: Page, name: str, size: str) -> None:
    page.screenshot(path=str(HERE / f"{name}-{size}.png"), full_page=True)


def capture(base: str, size: str, browser) -> None:
    anonymous = browser.new_page(viewport=SIZES[size])
    anonymous.goto(base)
    shoot(anonymous, "home", size)
    anonymous.goto(f"{base}/search?q=sciatica&near=Sydney")
    shoot(anonymous, "search", size)
    anonymous.get_by_role("link", name=re.compile("^See times")).first.click()
    shoot(anonymous, "practitioner", size)
    anonymous.close()

    patient = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(patient, base, "patient")
    patient.goto(f"{base}/search?q=sciatica&near=Sydney")
    patient.get_by_role("link", name=re.compile("^See times")).nth(
        1 if size == "mobile" else 2
    ).click()
    patient.get_by_role("button", name=re.compile("^Book ")).first.click()
    shoot(patient, "checkout", size)
    patient.get_by_role("button", name=re.compile("^Pay")).click()
    shoot(patient, "done", size)
    patient.goto(f"{base}/me/bookings")
    shoot(patient, "my-bookings", size)
    patient.get_by_role("button", name=re.compile("^Cancel booking")).first.click()
    shoot(patient, "cancel", size)

    practitioner = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(practitioner, base, "practitioner")
    for name, path in (
        ("dashboard", "/dashboard"),
        ("hours", "/dashboard/hours"),
        ("bookings", "/dashboard/bookings"),
        ("services", "/dashboard/services"),
    ):
        practitioner.goto(base + path)
        shoot(practitioner, name, size)

    admin = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/admin/listings?status=pending")
    shoot(admin, "admin-queue", size)
    admin.locator("main table a").first.click()
    shoot(admin, "admin-listing", size)
    admin.goto(f"{base}/admin/audit")
    shoot(admin, "audit", size)


def main() -> None:
    base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for size in SIZES:
            capture(base, size, browser)
        browser.close()


if __name__ == "__main__":
    main()

"""Browser test of the site pages on Debian's Chromium (Playwright, sync API, live server).

A coordinator logs in, screens an eligible and an ineligible patient (the htmx "check" shows the
per-criterion results first), records consent, randomizes with confirmation and sees the arm,
number and visit schedule; then switches the pages to Traditional Chinese. Screenshots of the main
pages go to ``docs/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are
# still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USERNAME = "coordinator.lin"
PASSWORD = "Hcc-Taipei-2026!"
SITE = "TPE01"
SITE_TIMEZONE = "Asia/Taipei"

# Debian's Chromium comes from scripts/system-deps; without it this test fails, never skips.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium as the issue prescribes (no sandbox, no background network)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def world(transactional_db: None) -> None:
    """A site in Taipei, a coordinator with a password, and the concealed randomization list."""
    from ikctrial.web.randomization.services import randomization_generate
    from ikctrial.web.sites.services import site_create, user_create

    site_create(
        actor="test-operator", code=SITE, name="Taipei General Hospital", timezone=SITE_TIMEZONE
    )
    user_create(
        actor="test-operator",
        username=USERNAME,
        role="coordinator",
        site_codes=[SITE],
        password=PASSWORD,
    )
    randomization_generate(actor="test-operator", seed=20260302, size=10)


def shot(page: Page, name: str) -> None:
    """A full-page PNG in docs/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def fill_screening(page: Page, screening_date: dt.date, **changes: str) -> None:
    """Fill the screening form with the interfaces.md example patient (dates moved to today)."""
    fields: dict[str, Any] = {
        "#id_subject_ref": "SCR-001",
        "#id_screening_date": screening_date.isoformat(),
        "#id_birth_date": "1958-07-14",
        "#id_consent_date": (screening_date - dt.timedelta(days=1)).isoformat(),
        "#id_consent_version": "1.0",
        "#id_nodules": "4",
        "#id_largest_mm": "38",
        "#id_bilirubin_value": "1.4",
        "#id_albumin_value": "3.4",
        "#id_inr_value": "1.2",
        "#id_afp_value": "850",
        "#id_therapy_1_end_date": "2025-11-20",
    }
    selects = {
        "#id_sex": "male",
        "#id_consent_signed": "yes",
        "#id_vascular_invasion": "no",
        "#id_extrahepatic_spread": "no",
        "#id_ecog": "1",
        "#id_bilirubin_unit": "mg/dL",
        "#id_albumin_unit": "g/dL",
        "#id_ascites": "none",
        "#id_encephalopathy": "none",
        "#id_prior_tace": "no",
        "#id_therapy_1_type": "chemotherapy",
        **{
            f"#id_{name}": "no"
            for name in (
                "hiv",
                "htlv",
                "active_infection",
                "active_cardiac_disease",
                "cns_disease",
                "brain_or_meningeal_metastasis",
                "pregnant",
                "breast_feeding",
                "childbearing_potential",
            )
        },
    }
    for selector, value in changes.items():
        (selects if selector in selects else fields)[selector] = value
    for selector, value in fields.items():
        page.fill(selector, value)
    for selector, value in selects.items():
        page.select_option(selector, value)
    page.check("input[name=hcc_methods][value=CT]")
    page.check("input[name=hcc_methods][value=AFP]")


def test_site_flow(browser: Browser, live_server: Any, world: None) -> None:
    """Log in, screen two patients, consent, randomize, see the schedule, switch language."""
    from ikctrial.web.randomization.models import Randomization
    from ikctrial.web.subjects.models import Subject

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    base = live_server.url
    # The site's calendar day, not the machine's: the pages date everything on the site clock.
    today = dt.datetime.now(ZoneInfo(SITE_TIMEZONE)).date()

    # Log in (a wrong password first: the form says so).
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit].primary")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    page.fill("#id_password", PASSWORD)
    shot(page, "01-login")
    page.click("button[type=submit].primary")
    expect(page.get_by_role("heading", name="Site dashboard")).to_be_visible()

    # Eligible patient: htmx check first (nothing saved), then save.
    page.click("text=Screen a patient")
    fill_screening(page, today - dt.timedelta(days=3))
    page.click("button[value=check]")
    preview = page.locator("#eligibility-preview")
    expect(preview.locator("h2")).to_contain_text("eligible")
    expect(preview.locator("tr.result-pass")).to_have_count(12)
    expect(preview.locator("dl.derived")).to_contain_text("A (6 points)")
    expect(preview.locator("dl.derived")).to_contain_text("-1.9798")
    assert not Subject.objects.exists()
    shot(page, "02-screening-check")
    page.click("button[value=save]")
    expect(page.get_by_role("status").first).to_contain_text("screened")
    eligible = Subject.objects.get()
    assert eligible.verdict.eligible is True

    # Ineligible patient (a previous TACE fails I4; no prior-therapy row).
    page.goto(f"{base}/sites/{SITE}/screen/")
    fill_screening(
        page,
        today - dt.timedelta(days=2),
        **{"#id_subject_ref": "SCR-002", "#id_prior_tace": "yes", "#id_therapy_1_type": ""},
    )
    page.fill("#id_therapy_1_end_date", "")
    page.click("button[value=check]")
    expect(preview.locator("tr.result-fail")).to_have_count(1)
    expect(preview.locator("tr.result-fail")).to_contain_text("I4_no_prior_tace")
    page.click("button[value=save]")
    expect(page.locator("h2#eligibility-heading")).to_contain_text("not eligible")
    expect(page.locator("body")).not_to_contain_text("Randomize…")
    shot(page, "03-subject-ineligible")

    # Invalid input re-renders the form with the field's error and stores nothing.
    page.goto(f"{base}/sites/{SITE}/screen/")
    fill_screening(page, today, **{"#id_albumin_value": "9"})
    page.click("button[value=save]")
    expect(page.locator("#id_albumin_value")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("body")).to_contain_text("above 7 g/dL (impossible)")
    assert Subject.objects.count() == 2

    # Consent, then randomize with a confirmation step.
    page.goto(f"{base}/subjects/{eligible.pk}/")
    page.fill("#id_signed_on", (today - dt.timedelta(days=4)).isoformat())
    page.fill("#id_signed_by", "Dr. Lin")
    page.click("text=Record consent")
    expect(page.get_by_role("status").first).to_contain_text("Consent recorded")
    page.click("text=Randomize…")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Randomize subject TPE01-0001?")
    shot(page, "04-randomize-confirm")
    assert not Randomization.objects.exists()
    page.click("text=Confirm randomization")
    made = Randomization.objects.get(subject=eligible)
    arm_name = {"IKC_TACE": "IKC + TACE", "TACE": "TACE alone"}[made.arm]
    expect(page.get_by_role("status").first).to_contain_text(
        f"Randomized: number {made.number}, arm {arm_name}."
    )
    schedule = page.locator("table.schedule")
    expect(schedule).to_contain_text("Tumor imaging 1")
    expect(schedule).to_contain_text((today + dt.timedelta(days=56)).isoformat())
    expect(schedule.locator("tr", has_text="First TACE")).to_contain_text("due")
    shot(page, "05-subject-randomized")

    page.goto(f"{base}/subjects/")
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    shot(page, "06-subject-list")
    page.goto(f"{base}/")
    shot(page, "07-dashboard")

    # Traditional Chinese, chosen by the user.
    page.select_option("#language", "zh-hant")
    page.click(".language button")
    expect(page.get_by_role("heading", level=1)).to_have_text("試驗中心儀表板")
    shot(page, "08-dashboard-zh-hant")
    page.goto(f"{base}/subjects/{eligible.pk}/")
    expect(page.locator("table.schedule")).to_contain_text("腫瘤影像 1")
    shot(page, "09-subject-zh-hant")
    context.close()

"""Browser test of the IKC bedside pages on Debian's Chromium (Playwright, sync API, live server).

A released bag is at the ward (built through the product services, tests/web/product/conftest.py).
A pharmacist and an investigator, each in their own browser session, sign their independent
verifications; the investigator refreshes the waiting verifications (htmx), runs the bedside check
and records the infusion; a second check of the same bag is blocked with its reason. Screenshots go
to ``docs/screenshots/product-*.png``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.browser.test_site_flow import browser, shot
from tests.web.conftest import (
    consent,
    randomization_list,
    ready_subject,
    screen,
    trial,
)
from tests.web.product.conftest import (
    IDENTIFIERS,
    PASSWORD,
    World,
    clock,
    test_protocol,
    world_factory,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = pytest.mark.slow

FIXTURES = (
    browser,
    consent,
    randomization_list,
    ready_subject,
    screen,
    trial,
    clock,
    test_protocol,
    world_factory,
)
"""Fixtures shared with the site flow and the product tests (imported, so pytest finds them)."""

ZONE = ZoneInfo("Asia/Taipei")


def signed_in(browser: Browser, live_server: Any, user: Any) -> BrowserContext:
    """A browser session of ``user`` (the session cookie of a Django test login)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    return context


def local(moment: dt.datetime) -> str:
    """A moment as a datetime-local input takes it, in the site's zone."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def verify(page: Page, url: str, bag_id: str) -> None:
    """Fill and sign one verifier's entries on the bedside page."""
    page.goto(url)
    for field, value in (
        ("wristband_1", IDENTIFIERS[0]),
        ("wristband_2", IDENTIFIERS[1]),
        ("bag_label_patient_1", IDENTIFIERS[0]),
        ("bag_label_patient_2", IDENTIFIERS[1]),
        ("bag_label", bag_id),
        ("password", PASSWORD),
    ):
        page.fill(f"#id_{field}", value)
    page.check("#id_bag_intact")
    page.check("#id_appearance_acceptable")
    page.click("text=Sign verification")
    expect(page.get_by_role("status").first).to_contain_text("is signed")


def run_check(page: Page, world: World) -> None:
    """Refresh the waiting verifications (htmx), tick both, run the check."""
    page.click("text=Refresh verifications")
    boxes = page.locator("input[name=verification_ids]")
    expect(boxes).to_have_count(2)
    for index in range(2):
        boxes.nth(index).check()
    page.fill("#id_bag_id", world.bag_id)
    page.fill("#id_body_temperature_c", "36.8")
    page.select_option("#id_vital_signs_acceptable", "yes")
    labs = world.harvest.astimezone(ZONE).date() - dt.timedelta(days=1)
    page.fill("#id_labs_drawn_on", labs.isoformat())
    page.select_option("#id_labs_within_limits", "yes")
    page.click("text=Run bedside check")


def test_two_person_bedside_flow(
    browser: Browser, live_server: Any, transactional_db: None, world_factory: Callable[..., World]
) -> None:
    """Two verifiers, the check, the infusion; the same bag again is blocked with the reason."""
    from ikctrial.web.product.models import Infusion

    world = world_factory()
    world.at(3)
    bedside = f"{live_server.url}/subjects/{world.subject_id}/bedside/"
    pharmacist = signed_in(browser, live_server, world.user("pharmacist"))
    investigator = signed_in(browser, live_server, world.user("investigator"))
    verify(pharmacist.new_page(), bedside, world.bag_id)
    page = investigator.new_page()
    page.set_default_timeout(30_000)
    verify(page, bedside, world.bag_id)
    run_check(page, world)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bedside check")
    expect(page.locator("dl.summary")).to_contain_text("allowed")
    shot(page, "product-01-check-allowed")

    start = world.harvest + dt.timedelta(hours=3, minutes=10)
    world.clock.set(start + dt.timedelta(minutes=40))
    page.fill("#id_started_at", local(start))
    page.fill("#id_stopped_at", local(start + dt.timedelta(minutes=30)))
    page.fill("#id_volume_infused_ml", "100")
    page.fill("#id_location", "ward 7")
    page.click("text=Record infusion")
    expect(page.get_by_role("status").first).to_contain_text("Infusion 1 recorded")
    assert Infusion.objects.count() == 1
    shot(page, "product-02-infusion-recorded")

    world.at(4)
    verify(pharmacist.new_page(), bedside, world.bag_id)
    verify(page, bedside, world.bag_id)
    run_check(page, world)
    expect(page.locator("ul.failures")).to_contain_text("the bag has already been infused")
    expect(page.locator("body")).not_to_contain_text("Record the infusion")
    assert Infusion.objects.count() == 1
    shot(page, "product-03-check-blocked")

    page.goto(f"{live_server.url}/product/lots/{world.lot_id}/")
    expect(page.locator("section#qc")).to_contain_text("Viability")
    shot(page, "product-04-lot")
    pharmacist.close()
    investigator.close()

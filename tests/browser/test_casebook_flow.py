"""Browser test of the casebook and review pages on Debian's Chromium (Playwright, live server).

A randomized subject (through the services, tests/web/crf/conftest.py) at a Taipei site. The
coordinator enters an abnormal ALT and sees its CTCAE v5.0 grade, then two imaging time points and
sees the derived RECIST 1.1 and mRECIST calls with the sums and the nadir (the htmx preview first,
nothing stored, then the save). The data manager raises a query on the lesion table, the coordinator
answers it, the data manager closes it. The investigator signs the casebook (meaning, password
re-entered; a wrong password signs nothing), the data manager locks it, and the coordinator's
correction of the lab value is refused. Screenshots go to ``docs/screenshots/1*.png``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from tests.browser.test_product_flow import signed_in
from tests.browser.test_site_flow import browser, shot
from tests.web.conftest import Trial, consent, randomization_list, ready_subject, screen, trial
from tests.web.crf.conftest import PASSWORD, Randomized, passwords, randomize

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = pytest.mark.slow

FIXTURES = (
    browser,
    consent,
    passwords,
    randomization_list,
    randomize,
    ready_subject,
    screen,
    trial,
)
"""Fixtures shared with the other browser and CRF tests (imported, so pytest finds them)."""


def session(browser: Browser, live_server: Any, trial: Trial, role: str) -> Page:
    """A page in a browser session of the SITEA user with ``role``."""
    page = signed_in(browser, live_server, trial.users[role]).new_page()
    page.set_default_timeout(30_000)
    return page


def saved(page: Page, text: str) -> None:
    """The page's confirmation message says ``text``."""
    expect(page.get_by_role("status").first).to_contain_text(text)


def response_row(area: Locator, criteria: str) -> Locator:
    """The row of one criterion (``RECIST1.1``, ``mRECIST``) in a derived-response table."""
    heading = area.page.locator("th", has_text=re.compile(rf"^{re.escape(criteria)}$"))
    return area.locator("tr.response", has=heading)


def expect_call(area: Locator, criteria: str, total: str, nadir: str, overall: str) -> None:
    """One criterion's derived call: sum of diameters, nadir and overall response."""
    row = response_row(area, criteria)
    expect(row.locator("td.sum")).to_have_text(total)
    expect(row.locator("td.nadir")).to_have_text(nadir)
    expect(row.locator("strong.overall")).to_have_text(overall)


def fill_lesions(page: Page, day: str, diameter_mm: int, viable_mm: int) -> None:
    """One liver target lesion (RECIST diameter, mRECIST viable diameter) and a lung non-target."""
    page.fill("#id_assessed_on", day)
    page.select_option("#id_modality", "CT")
    page.select_option("#id_new_lesions", "none")
    page.fill("#id_target_1_id", "T1")
    page.fill("#id_target_1_organ", "liver")
    page.fill("#id_target_1_diameter_mm", str(diameter_mm))
    page.fill("#id_target_1_viable_diameter_mm", str(viable_mm))
    page.fill("#id_non_target_1_id", "NT1")
    page.fill("#id_non_target_1_organ", "lung")
    page.select_option("#id_non_target_1_status", "present")


def enter_time_point(page: Page, subject: Randomized, day: int, diameter: int, viable: int) -> None:
    """From the tumor list: a new time point and its htmx preview (the partial; nothing stored)."""
    from ikctrial.web.crf.models import TumorAssessment

    stored = TumorAssessment.objects.count()
    page.click("text=New time point")
    fill_lesions(page, subject.day(day), diameter, viable)
    with page.expect_response(lambda response: response.url.endswith("/preview/")) as htmx:
        page.click("text=Show derived response")
    assert htmx.value.request.headers.get("hx-request") == "true"
    expect(page.locator("#preview-heading")).to_contain_text("not saved yet")
    assert TumorAssessment.objects.count() == stored


def test_casebook_flow(
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    passwords: Trial,
    randomize: Callable[..., Randomized],
) -> None:
    """Lab grade, tumor response, a query's life, signature and lock, a refused edit."""
    from ikctrial.web.crf.models import LabResult, TumorAssessment
    from ikctrial.web.queries.models import DataQuery
    from ikctrial.web.signatures.models import Signature, SubjectLock

    subject = randomize()
    base = f"{live_server.url}/subjects/{subject.subject_id}/"
    coordinator = session(browser, live_server, passwords, "coordinator")

    # From the casebook on the subject page: an abnormal ALT, graded by CTCAE v5.0 on save.
    coordinator.goto(base)
    forms = coordinator.locator("table.crf-forms")
    expect(forms).to_contain_text("Laboratory results")
    forms.locator("tr", has_text="Laboratory results").get_by_role(
        "link", name="New record"
    ).click()
    coordinator.fill("#id_collected_on", subject.day(0))
    coordinator.select_option("#id_test", "ALT")
    coordinator.fill("#id_value", "150")
    coordinator.select_option("#id_unit", "U/L")
    coordinator.fill("#id_uln", "40")
    coordinator.click("form.crf button.primary")
    saved(coordinator, "Laboratory results saved.")
    lab_row = coordinator.locator("table.crf-records tbody tr")
    expect(lab_row).to_have_count(1)
    expect(lab_row).to_contain_text("grade 2")
    expect(lab_row).to_contain_text("Alanine aminotransferase increased")
    assert LabResult.objects.get().ctcae_grade == 2
    shot(coordinator, "11-lab-graded")

    # Tumor assessments: baseline, then a time point; htmx preview first, then the save.
    coordinator.goto(base)
    coordinator.click("nav.review-links >> text=Tumor assessments")
    enter_time_point(coordinator, subject, -20, 50, 40)
    coordinator.click("form.lesions button[value=save]")
    saved(coordinator, "Tumor assessment saved")
    coordinator.click("text=← Tumor assessments")
    enter_time_point(coordinator, subject, 40, 48, 20)
    preview = coordinator.locator("#response-preview")
    expect_call(preview, "RECIST1.1", "48", "50", "SD")
    expect_call(preview, "mRECIST", "20", "40", "PR")
    shot(coordinator, "12-tumor-assessment")
    coordinator.click("form.lesions button[value=save]")
    saved(coordinator, "Tumor assessment saved")
    derived = coordinator.locator("section[aria-labelledby=derived-heading]")
    expect_call(derived, "RECIST1.1", "48", "50", "SD")
    expect_call(derived, "mRECIST", "20", "40", "PR")
    assessment = TumorAssessment.objects.get(assessed_on=subject.day(40))
    calls = {r.criteria: r.overall_response for r in assessment.responses.all()}
    assert calls == {"RECIST1.1": "SD", "mRECIST": "PR"}

    # A query on a field: the data manager raises it, the casebook lists it, the coordinator
    # answers it, the data manager closes it.
    manager = session(browser, live_server, passwords, "data_manager")
    manager.goto(f"{base}tumor/{assessment.pk}/")
    manager.click("text=Raise a query on this time point")
    expect(manager.locator("#id_field")).to_have_value("target")
    manager.fill("#id_text", "T1 measured on which series?")
    manager.click("text=Raise the query")
    saved(manager, "Query raised.")
    query = DataQuery.objects.get()
    assert (query.form, query.record_id, query.field) == (
        "tumor_assessment",
        assessment.pk,
        "target",
    )
    coordinator.goto(base)
    expect(coordinator.locator("section.casebook ul.queries")).to_contain_text(
        "T1 measured on which series?"
    )
    expect(forms.locator("tr", has_text="Laboratory results").locator("td.num").first).to_have_text(
        "1"
    )
    shot(coordinator, "10-casebook")
    coordinator.click("header nav >> text=Queries")
    coordinator.locator("table.queries").get_by_role("link", name=str(query.pk)).click()
    coordinator.fill("#id_answer", "Series 4, arterial phase")
    coordinator.click("button:has-text('Answer')")
    saved(coordinator, "Answer recorded.")
    manager.reload()
    expect(manager.locator("dl.summary")).to_contain_text("Series 4, arterial phase")
    shot(manager, "13-query")
    manager.fill("#id_note", "Confirmed against the source images")
    manager.click("text=Close the query")
    saved(manager, "Query closed.")
    expect(manager.get_by_role("heading", level=1)).to_contain_text("closed")
    query.refresh_from_db()
    assert (query.status, query.answered_by, query.closed_by) == (
        "closed",
        "u_coordinator",
        "u_data_manager",
    )

    # The investigator signs (a wrong password signs nothing), the data manager locks.
    investigator = session(browser, live_server, passwords, "investigator")
    investigator.goto(base)
    investigator.click("text=Signatures and lock")
    investigator.select_option("#id_meaning", "approval")
    investigator.fill("#id_password", "not my password")
    investigator.get_by_role("button", name="Sign", exact=True).click()
    expect(investigator.locator("#id_password")).to_have_attribute("aria-invalid", "true")
    assert not Signature.objects.exists()
    investigator.fill("#id_password", PASSWORD)
    investigator.get_by_role("button", name="Sign", exact=True).click()
    saved(investigator, "Casebook signed.")
    signatures = investigator.locator("table.signatures")
    expect(signatures).to_contain_text("Investigator Tester")
    expect(signatures).to_contain_text("Approved")
    expect(signatures).to_contain_text("covers the casebook as it is")
    manager.goto(f"{base}signatures/")
    manager.select_option("#id_action", "lock")
    manager.fill("#id_password", PASSWORD)
    manager.click("text=Sign and apply")
    saved(manager, "Casebook state changed and signed.")
    expect(manager.locator(".lock-state")).to_have_text("locked")
    assert SubjectLock.objects.get(subject_id=subject.subject_id).state == "locked"
    shot(manager, "14-signature-lock")

    # A correction on the locked casebook is refused with the reason; nothing changes.
    coordinator.goto(f"{base}crf/lab_result/")
    coordinator.click("table.crf-records >> text=Correct")
    coordinator.fill("#id_value", "160")
    coordinator.fill("#id_change_reason", "transcription error")
    coordinator.click("text=Save the correction")
    expect(coordinator.locator("form.crf [role=alert]")).to_contain_text("locked")
    assert LabResult.objects.get().value == 150
    shot(coordinator, "15-locked-refused")
    for page in (coordinator, manager, investigator):
        page.context.close()

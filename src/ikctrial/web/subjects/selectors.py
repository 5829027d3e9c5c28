"""Reads of subjects: site scoping for subjects in ONE place (``subjects_for_user``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import router
from django.db.models import QuerySet, prefetch_related_objects

from ikctrial.web import rows
from ikctrial.web.errors import NotFoundError
from ikctrial.web.sites.models import Site
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import (
    Actor,
    authorize,
    may,
    site_scope,
    site_scope_params,
    site_scope_sql,
    sites_for_user,
)
from ikctrial.web.subjects.models import Subject
from ikctrial.web.validation import MAX_ID


def _visible_subjects(actor: Actor) -> QuerySet[Subject]:
    """The subjects of the actor's sites, if its role sees subjects at all (nothing joined)."""
    if not may(actor, Action.SUBJECT_VIEW):
        return Subject.objects.none()
    return Subject.objects.filter(site__in=sites_for_user(actor))


def subjects_for_user(actor: Actor) -> QuerySet[Subject]:
    """The subjects the actor may see: those of its sites, if its role sees subjects at all."""
    return _visible_subjects(actor).select_related("site", "verdict", "randomization__stratum")


def _one(subjects: QuerySet[Subject], subject_id: int) -> Subject:
    """The subject ``subject_id`` among ``subjects``; any other is ``NotFoundError`` (404)."""
    if not 0 < subject_id <= MAX_ID:
        raise NotFoundError(f"subject {subject_id} not found")
    subject = subjects.filter(pk=subject_id).first()
    if subject is None:
        raise NotFoundError(f"subject {subject_id} not found")
    return subject


def subject_for_user(actor: Actor, subject_id: int) -> Subject:
    """One visible subject; another site's subject (or none) is ``NotFoundError`` (404)."""
    return _one(subjects_for_user(actor), subject_id)


@lru_cache(maxsize=16)
def _locked_subject_sql(scope: str, using: str) -> str:
    """The subject and its site, scoped, the subject's row locked: one plain statement."""
    return (
        f"SELECT {rows.column_list(Subject, using)}, {rows.column_list(Site, using)} "
        f"FROM {rows.table(Subject, using)} JOIN {rows.table(Site, using)} "
        f"ON {rows.column(Site, 'id', using)} = {rows.column(Subject, 'site', using)} "
        f"WHERE {rows.column(Subject, 'id', using)} = %s AND {scope}"
        f"{rows.lock_clause(Subject, using)}"
    )


def subject_for_update(actor: Actor, subject_id: int) -> Subject:
    """One visible subject with its site, its row locked until the transaction ends (404 else).

    The writers' entry point (every API write runs it): scoping and lock in one statement. Only
    the subject row and its site are read: anything else about the subject (consent,
    randomization) must be read after this returns, since rows committed while it waited for the
    lock are not in its snapshot. The row is not remembered as locked (few writers save the
    subject itself; their audited save reads it again).
    """
    if not 0 < subject_id <= MAX_ID or not may(actor, Action.SUBJECT_VIEW):
        raise NotFoundError(f"subject {subject_id} not found")
    using = router.db_for_write(Subject)
    scope = site_scope(actor)
    sql = _locked_subject_sql(site_scope_sql(scope, rows.column(Subject, "site", using)), using)
    row = rows.fetch_one(sql, [subject_id, *site_scope_params(scope)], using)
    if row is None:
        raise NotFoundError(f"subject {subject_id} not found")
    subject = rows.build(Subject, row, using=using)
    Subject._meta.get_field("site").set_cached_value(
        subject, rows.build(Site, row, rows.width(Subject), using)
    )
    return subject


def subject_status(subject: Subject) -> str:
    """Where the subject stands: screen_failed, screened, consented, randomized(_in_error)."""
    randomization = getattr(subject, "randomization", None)
    if randomization is not None:
        return str(randomization.status)
    if subject.verdict.eligible is False:
        return "screen_failed"
    if subject.consents.exists():
        return "consented"
    return "screened"


def subject_document(subject: Subject) -> dict[str, Any]:
    """The subject as the API shows it (interfaces.md): verdict, consent, randomization, status."""
    randomization = getattr(subject, "randomization", None)
    prefetch_related_objects([subject], "consents")  # one read for the list and the status
    consents = [
        {
            "version": consent.version,
            "signed_on": consent.signed_on,
            "signed_by": consent.signed_by,
            "recorded_by": consent.recorded_by,
            "recorded_at": consent.recorded_at,
        }
        for consent in subject.consents.all()
    ]
    return {
        "subject_id": subject.pk,
        "screening_number": subject.screening_number,
        "site": subject.site.code,
        "subject_ref": subject.subject_ref,
        "screening_date": subject.screening_date,
        "screened_by": subject.screened_by,
        "screened_at": subject.screened_at,
        "status": subject_status(subject),
        "protocol_version": subject.verdict.protocol_version,
        "eligibility": subject.verdict.result,
        "consent": consents[-1] if consents else None,
        "consents": consents,
        "randomization": None
        if randomization is None
        else {
            "randomization_number": randomization.number,
            "arm": randomization.arm,
            "stratum": randomization.stratum.levels,
            "randomized_at": randomization.randomized_at,
            "randomized_by": randomization.randomized_by,
            "status": randomization.status,
            "error_reason": randomization.error_reason or None,
        },
    }


def screening_log(actor: Actor) -> list[dict[str, Any]]:
    """Every screened patient of the actor's sites, failures included and why (for CONSORT)."""
    authorize(actor, Action.SCREENING_LOG_VIEW)
    rows = []
    for subject in subjects_for_user(actor).prefetch_related("consents"):
        criteria = subject.verdict.result.get("criteria", [])
        rows.append(
            {
                "subject_id": subject.pk,
                "screening_number": subject.screening_number,
                "site": subject.site.code,
                "screening_date": subject.screening_date,
                "eligible": subject.verdict.eligible,
                "status": subject_status(subject),
                "failed": [
                    {"id": c["id"], "reason": c["reason"]}
                    for c in criteria
                    if c["result"] == "fail"
                ],
                "unknown": [
                    {"id": c["id"], "reason": c["reason"]}
                    for c in criteria
                    if c["result"] == "unknown"
                ],
            }
        )
    return rows

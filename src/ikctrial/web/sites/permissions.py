"""Who may do what: the role x action matrix, in ONE place (the same table is docs/permissions.md).

Site scoping is separate and applies on top of this table: every role except ``admin`` sees and
changes only the subjects of the sites it is a member of (``selectors.sites_for_user``); anything
else answers 404, so another site's subjects are not even confirmed to exist.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """The study roles (interfaces.md "Web service and REST API")."""

    INVESTIGATOR = "investigator"
    COORDINATOR = "coordinator"
    CELL_LAB = "cell_lab"
    QA = "qa"
    PHARMACIST = "pharmacist"
    DATA_MANAGER = "data_manager"
    MONITOR = "monitor"
    STATISTICIAN = "statistician"
    ADMIN = "admin"
    READER = "reader"


class Action(models.TextChoices):
    """Things a user can ask the system to do."""

    SUBJECT_VIEW = "subject.view"
    SUBJECT_SCREEN = "subject.screen"
    SCREENING_LOG_VIEW = "screening_log.view"
    CONSENT_RECORD = "consent.record"
    SUBJECT_RANDOMIZE = "subject.randomize"
    RANDOMIZATION_MARK_ERROR = "randomization.mark_error"
    RANDOMIZATION_LOG_VIEW = "randomization.view_log"
    RANDOMIZATION_GENERATE = "randomization.generate"
    SITE_MANAGE = "site.manage"
    USER_MANAGE = "user.manage"
    CRF_VIEW = "crf.view"
    CRF_ENTER = "crf.enter"
    RESPONSE_DISAGREE = "response.disagree"
    QUERY_VIEW = "query.view"
    QUERY_RAISE = "query.raise"
    QUERY_ANSWER = "query.answer"
    QUERY_CLOSE = "query.close"
    CASEBOOK_SIGN = "casebook.sign"
    SUBJECT_LOCK = "subject.lock"
    STUDY_LOCK = "study.lock"
    AUDIT_VIEW = "audit.view"
    PRODUCT_VIEW = "product.view"
    PRODUCT_COLLECT = "product.collect"
    PRODUCT_MANUFACTURE = "product.manufacture"
    PRODUCT_HANDLE = "product.handle"
    PRODUCT_RELEASE = "product.release"
    PRODUCT_ADMINISTER = "product.administer"
    DATA_EXPORT = "data.export"
    CENTRAL_READ_ENTER = "central_read.enter"


# The matrix. Statisticians see no subject record: they generate the concealed list and read the
# allocation log, which no site or study-team role can read (domain.md 9.2, 9.4).
_SITE_STAFF = (Role.INVESTIGATOR, Role.COORDINATOR)
PERMISSIONS: dict[str, frozenset[str]] = {
    Action.SUBJECT_VIEW: frozenset(
        {
            *_SITE_STAFF,
            Role.CELL_LAB,
            Role.QA,
            Role.PHARMACIST,
            Role.DATA_MANAGER,
            Role.MONITOR,
            Role.ADMIN,
        }
    ),
    Action.SUBJECT_SCREEN: frozenset({*_SITE_STAFF, Role.ADMIN}),
    Action.SCREENING_LOG_VIEW: frozenset(
        {*_SITE_STAFF, Role.DATA_MANAGER, Role.MONITOR, Role.ADMIN}
    ),
    Action.CONSENT_RECORD: frozenset({*_SITE_STAFF, Role.ADMIN}),
    Action.SUBJECT_RANDOMIZE: frozenset({*_SITE_STAFF, Role.ADMIN}),
    Action.RANDOMIZATION_MARK_ERROR: frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER, Role.ADMIN}),
    Action.RANDOMIZATION_LOG_VIEW: frozenset({Role.STATISTICIAN, Role.ADMIN}),
    Action.RANDOMIZATION_GENERATE: frozenset({Role.STATISTICIAN, Role.ADMIN}),
    Action.SITE_MANAGE: frozenset({Role.ADMIN}),
    Action.USER_MANAGE: frozenset({Role.ADMIN}),
    # The trail spans every site and carries every value, so only study-wide reviewers read it.
    Action.AUDIT_VIEW: frozenset({Role.QA, Role.DATA_MANAGER, Role.ADMIN}),
    # Case report forms, data queries, Part 11 sign-off and lock (domain.md 6, 9.2, 9.3). Only the
    # investigator signs the casebook; only the data manager freezes and locks (with a signature).
    Action.CRF_VIEW: frozenset(
        {*_SITE_STAFF, Role.QA, Role.DATA_MANAGER, Role.MONITOR, Role.ADMIN}
    ),
    Action.CRF_ENTER: frozenset({*_SITE_STAFF, Role.ADMIN}),
    Action.RESPONSE_DISAGREE: frozenset({Role.INVESTIGATOR}),
    Action.QUERY_VIEW: frozenset({*_SITE_STAFF, Role.DATA_MANAGER, Role.MONITOR, Role.ADMIN}),
    Action.QUERY_RAISE: frozenset({Role.DATA_MANAGER, Role.MONITOR}),
    Action.QUERY_ANSWER: frozenset({*_SITE_STAFF}),
    Action.QUERY_CLOSE: frozenset({Role.DATA_MANAGER, Role.MONITOR}),
    Action.CASEBOOK_SIGN: frozenset({Role.INVESTIGATOR}),
    Action.SUBJECT_LOCK: frozenset({Role.DATA_MANAGER}),
    Action.STUDY_LOCK: frozenset({Role.DATA_MANAGER}),
    # The IKC product (domain.md 8): site staff draw the blood (CoI assigned), the cell lab records
    # manufacturing and QC, only qa releases (never who manufactured), hand-offs are recorded by
    # whoever holds the product, and two bedside staff verify and record the infusion.
    Action.PRODUCT_VIEW: frozenset(
        {
            *_SITE_STAFF,
            Role.CELL_LAB,
            Role.QA,
            Role.PHARMACIST,
            Role.DATA_MANAGER,
            Role.MONITOR,
            Role.ADMIN,
        }
    ),
    Action.PRODUCT_COLLECT: frozenset({*_SITE_STAFF, Role.CELL_LAB}),
    Action.PRODUCT_MANUFACTURE: frozenset({Role.CELL_LAB}),
    Action.PRODUCT_HANDLE: frozenset({*_SITE_STAFF, Role.CELL_LAB, Role.QA, Role.PHARMACIST}),
    Action.PRODUCT_RELEASE: frozenset({Role.QA}),
    Action.PRODUCT_ADMINISTER: frozenset({*_SITE_STAFF, Role.PHARMACIST}),
    # Blinded independent central review (domain.md 9.4, 7.1 PFSBICR): the radiology reader sees
    # lesion tables only, never a subject record (arm, treatment), and enters its own reads.
    Action.CENTRAL_READ_ENTER: frozenset({Role.READER}),
    # Standard exports (SDTM, ADaM, ODM, FHIR) of the user's sites: the analysis team only.
    Action.DATA_EXPORT: frozenset({Role.DATA_MANAGER, Role.STATISTICIAN}),
}

# Roles that see every site without a membership.
STUDY_WIDE_ROLES: frozenset[str] = frozenset({Role.ADMIN})


def role_may(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (site scoping aside)."""
    return role in PERMISSIONS[action]

"""Translatable display labels for the product codes the core and services return (never a rule)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ikctrial.product.bedside import BedsideCheck
from ikctrial.product.custody import CustodyCondition, CustodyEventType, CustodyStatus
from ikctrial.product.reconciliation import UnitDisposition
from ikctrial.product.release import ReleaseStatus

E = CustodyEventType

EVENT_TYPE: dict[str, Promise] = {
    E.COLLECTED: _("collected"),
    E.RECEIVED: _("received at the cell lab"),
    E.CULTURE_STARTED: _("culture started"),
    E.MEDIA_ADDED: _("medium added"),
    E.CYTOKINE_ADDED: _("cytokine added"),
    E.HARVESTED: _("harvested"),
    E.QC_SAMPLED: _("QC sampled"),
    E.RELEASED: _("released"),
    E.SHIPPED: _("shipped"),
    E.RECEIVED_AT_WARD: _("received at the ward"),
    E.STORED: _("stored"),
    E.INFUSED: _("infused"),
    E.DESTROYED: _("destroyed"),
    E.QUARANTINED: _("quarantined"),
    E.QUARANTINE_LIFTED: _("quarantine lifted"),
    E.REVERSAL: _("correction (reversal)"),
}

CONDITION: dict[str, Promise] = {
    CustodyCondition.ACCEPTABLE: _("received in acceptable condition"),
    CustodyCondition.ISSUE: _("received with issue"),
}

CUSTODY_STATUS: dict[str, Promise] = {
    CustodyStatus.NOT_COLLECTED: _("not collected"),
    CustodyStatus.IN_TRANSIT_TO_LAB: _("in transit to the cell lab"),
    CustodyStatus.AT_LAB: _("at the cell lab"),
    CustodyStatus.IN_CULTURE: _("in culture"),
    CustodyStatus.HARVESTED: _("harvested"),
    CustodyStatus.RELEASED: _("released"),
    CustodyStatus.IN_TRANSIT_TO_WARD: _("in transit to the ward"),
    CustodyStatus.AT_WARD: _("at the ward"),
    CustodyStatus.INFUSED: _("infused"),
    CustodyStatus.DESTROYED: _("destroyed"),
}

RELEASE_STATUS: dict[str, Promise] = {
    ReleaseStatus.QUARANTINE: _("quarantine (not released)"),
    ReleaseStatus.RELEASED: _("released"),
    ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY: _("released, final sterility pending"),
    ReleaseStatus.EXCEPTIONAL_RELEASE: _("exceptional release"),
    ReleaseStatus.REJECTED: _("rejected"),
    ReleaseStatus.EXPIRED: _("expired"),
    ReleaseStatus.DESTROYED: _("destroyed"),
}

DISPOSITION: dict[str, Promise] = {
    UnitDisposition.INFUSED: _("infused"),
    UnitDisposition.DESTROYED: _("destroyed"),
    UnitDisposition.EXPIRED: _("expired"),
    UnitDisposition.QUARANTINE: _("quarantine"),
    UnitDisposition.IN_STOCK: _("in stock"),
    UnitDisposition.IN_TRANSIT: _("in transit"),
    UnitDisposition.IN_PROCESS: _("in process"),
    UnitDisposition.UNACCOUNTED: _("unaccounted"),
}

UNIT_KIND: dict[str, Promise] = {
    "collection": _("collection"),
    "culture": _("culture"),
    "lot": _("lot"),
    "bag": _("bag"),
}

CHECK: dict[str, Promise] = {
    BedsideCheck.VERIFIERS: _("two different verifiers"),
    BedsideCheck.PATIENT_IDENTITY: _("patient identity"),
    BedsideCheck.IKC_ARM: _("IKC arm"),
    BedsideCheck.CONSENT: _("consent active"),
    BedsideCheck.IKC_DISCONTINUED: _("IKC not discontinued"),
    BedsideCheck.INFUSION_COUNT: _("infusion count"),
    BedsideCheck.PRODUCT_IDENTITY: _("product identity (chain of identity)"),
    BedsideCheck.RELEASE_STATUS: _("release status"),
    BedsideCheck.EXPIRY: _("not expired"),
    BedsideCheck.ALREADY_INFUSED: _("not already infused"),
    BedsideCheck.CUSTODY: _("cold chain and custody"),
    BedsideCheck.CONTAINER: _("bag intact, appearance acceptable"),
    BedsideCheck.SAFETY_HOLD: _("no safety hold"),
    BedsideCheck.SCHEDULE: _("infusion schedule"),
    BedsideCheck.FEVER: _("no fever"),
    BedsideCheck.VITAL_SIGNS: _("vital signs"),
    BedsideCheck.TACE_BLACKOUT: _("outside the TACE blackout"),
    BedsideCheck.PRE_INFUSION_LABS: _("pre-infusion labs"),
    "override": _("override"),
}

SEVERITY: dict[str, Promise] = {"hard": _("hard block"), "soft": _("soft block")}

"""Before the first patient: the demo's protocol file, sites, staff with roles, randomization list.

Everything goes through the services the command line uses (``ikctrial site create``, ``user
create``, ``randomization generate``): sites and users by the operator, the concealed list by the
statistician. Staff get one random password for the run, held in memory only: the e-signatures
(QA release, bedside verification, overrides) re-authenticate with it like any signature.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from ikctrial.protocol.loader import built_in_protocol_text

DEMO_SHELF_LIFE_HOURS = 24.0
"""The built-in protocol ships no shelf life (domain.md 8.5): the demo uses the fixtures' 24 h."""
SITES: tuple[tuple[str, str], ...] = (
    ("TPE01", "Demo hospital, Taipei"),
    ("TXG01", "Demo hospital, Taichung"),
    ("KHH01", "Demo hospital, Kaohsiung"),
)
SITE_ROLES = ("investigator", "coordinator", "pharmacist")
"""Staff of every site: screening, consent, randomization, CRFs and the bedside pair."""
STUDY_ROLES = ("cell_lab", "qa", "data_manager", "statistician")
"""Study-wide staff, members of every site: the cell lab and QA serve them all, the data manager
reviews them, and the statistician exports and reports their randomized subjects (the role reads
no subject page)."""
SERVICE_SOURCE = "cli"


class DemoPasswordHasher(PBKDF2PasswordHasher):  # type: ignore[misc]
    """PBKDF2-SHA256 with few iterations: the demo signs thousands of times with throw-away
    passwords; the stored hashes stay standard ``pbkdf2_sha256`` ones (iterations in the hash)."""

    iterations = 1_000


@contextmanager
def demo_settings() -> Iterator[None]:
    """The demo's Django settings: the fast password hasher for its throw-away staff passwords."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=[f"{__name__}.DemoPasswordHasher"]):
        yield


def write_demo_protocol(out: Path) -> Path:
    """The built-in protocol with the demo shelf life, as ``out/protocol-demo.yaml``."""
    document = yaml.safe_load(built_in_protocol_text())
    document["product"]["shelf_life_hours"] = DEMO_SHELF_LIFE_HOURS
    path = out / "protocol-demo.yaml"
    header = (
        "# The built-in NCT03592706 protocol with product.shelf_life_hours set for the simulated\n"
        f"# trial of `ikctrial demo` ({DEMO_SHELF_LIFE_HOURS:g} h, domain.md 8.5). Not for a real"
        " trial.\n"
    )
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


@dataclass
class DemoStaff:
    """Who does what: site staff by (site, role), study-wide staff by role, the shared password."""

    password: str
    site_codes: tuple[str, ...]
    at_site: dict[tuple[str, str], Any] = field(default_factory=dict)
    study: dict[str, Any] = field(default_factory=dict)

    def of(self, site: str, role: str) -> Any:
        """The site's user with ``role``."""
        return self.at_site[(site, role)]


def set_up_trial(*, operator: str, subjects: int, seed: int) -> DemoStaff:
    """Sites, staff and the statistician's concealed list (one stratum holds at most everyone)."""
    from ikctrial.web.randomization.services import randomization_generate
    from ikctrial.web.sites.services import site_create, user_create

    staff = DemoStaff(
        password=secrets.token_urlsafe(16),
        site_codes=tuple(code for code, _ in SITES),
    )
    for code, name in SITES:
        site_create(actor=operator, code=code, name=name, source=SERVICE_SOURCE)
        for role in SITE_ROLES:
            created = user_create(
                actor=operator,
                username=f"{code.lower()}-{role.replace('_', '-')}",
                role=role,
                site_codes=[code],
                password=staff.password,
                source=SERVICE_SOURCE,
            )
            staff.at_site[(code, role)] = created.user
    for role in STUDY_ROLES:
        created = user_create(
            actor=operator,
            username=f"study-{role.replace('_', '-')}",
            role=role,
            site_codes=staff.site_codes,
            password=staff.password,
            source=SERVICE_SOURCE,
        )
        staff.study[role] = created.user
    randomization_generate(
        actor=staff.study["statistician"], seed=seed, size=subjects, source=SERVICE_SOURCE
    )
    return staff

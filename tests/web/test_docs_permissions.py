"""docs/permissions.md shows exactly the permission table the code enforces."""

from __future__ import annotations

from pathlib import Path

from ikctrial.web.sites.permissions import PERMISSIONS, Action, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def _doc_table() -> dict[str, set[str]]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "action"
    table: dict[str, set[str]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != len(header):
            break
        table[cells[0]] = {
            role for role, cell in zip(header[1:], cells[1:], strict=True) if cell == "yes"
        }
    return table


def test_doc_roles_are_the_code_roles() -> None:
    """The table's columns are the roles, in the code's order."""
    header = next(line for line in DOC.read_text().splitlines() if line.startswith("| action"))
    assert [c.strip() for c in header.strip("|").split("|")][1:] == list(Role.values)


def test_doc_table_equals_code_table() -> None:
    """Every action's allowed roles in the document are those of ``PERMISSIONS``."""
    code = {action.value: {str(role) for role in roles} for action, roles in PERMISSIONS.items()}
    assert _doc_table() == code
    assert set(code) == set(Action.values)

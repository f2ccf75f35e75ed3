"""The audit trail's verbs. The kernel's own (Action: view, update, export, ...) are always known; an
app adds its verbs (prescribing's "administer", mentalhealth's "detain") with register_audit_action
from its wiring.py, so a new verb needs no kernel change and no migration. audit_record refuses a verb
nobody registered, so every row's action can be read back as words."""

from __future__ import annotations

from epr.audit.models import Action

CODE_LENGTH = 20  # AuditEvent.action's column

_actions: dict[str, str] = {str(code): str(label) for code, label in Action.choices}


def register_audit_action(code: str, label: str) -> None:
    if not code or len(code) > CODE_LENGTH:
        raise ValueError(f"Audit action {code!r}: 1 to {CODE_LENGTH} characters.")
    if _actions.get(code, label) != label:
        raise ValueError(f"Audit action {code!r} is already registered as {_actions[code]!r}.")
    _actions[code] = label


def check_audit_action(code: str) -> None:
    if code not in _actions:
        raise LookupError(f"No audit action {code!r} is registered.")


def audit_action_label(code: str) -> str:
    """The verb in words ("Viewed"); a code from a since-removed app reads as itself."""
    return _actions.get(code, code)

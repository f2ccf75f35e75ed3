"""The audit trail's verbs. The kernel's own (Action: view, update, export, ...) are always known; an
app adds its verbs (prescribing's "administer", mentalhealth's "detain") with register_audit_action
from its wiring.py, so a new verb needs no kernel change and no migration. audit_record refuses a verb
nobody registered, so every row's action can be read back as words."""

from __future__ import annotations

from epr.audit.models import Action
from epr.vocabularies import OpenVocabulary

AUDIT_ACTIONS = OpenVocabulary(
    "audit action", code_length=20, initial={str(code): str(label) for code, label in Action.choices}
)


def register_audit_action(code: str, label: str) -> None:
    AUDIT_ACTIONS.register(code, label)


def check_audit_action(code: str) -> None:
    AUDIT_ACTIONS.label(code)  # refuses a verb nobody registered


def audit_action_label(code: str) -> str:
    """The verb in words ("Viewed"); a code from a since-removed app reads as itself."""
    return AUDIT_ACTIONS.label(code) if code in AUDIT_ACTIONS else code

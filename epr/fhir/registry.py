"""The FHIR resources the server offers, registered by each app from its wiring.py.

Everything generic is built from this one list: the `/fhir/` routes (epr/fhir/urls.py), the
CapabilityStatement (`/fhir/metadata`), the OAuth scopes a system client may be given, and which
resource types a transaction Bundle may create, in what order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from epr.fhir.transactions import TransactionPart


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str = ""


@dataclass(frozen=True)
class Capability:
    """What the CapabilityStatement says of a resource type (kept beside its FHIR mapping)."""

    profile: str
    interactions: tuple[str, ...]
    search_params: tuple[SearchParam, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FHIRResourceType:
    """One resource type: its capability, the views that serve it, the words of its two scopes, and
    how a transaction Bundle creates it (None: not in transactions)."""

    type: str
    capability: Capability
    type_view: Callable[..., Any]  # /fhir/<type>: search and create
    instance_view: Callable[..., Any]  # /fhir/<type>/<id>: read and update
    read_scope: str  # "Read patients as a system client"
    write_scope: str
    id_converter: str = "str"  # the path converter of <id>: "int" or "str"
    transaction: TransactionPart | None = None


_resources: dict[str, FHIRResourceType] = {}


def register_fhir_resource(resource: FHIRResourceType) -> None:
    _resources[resource.type] = resource


def fhir_resources() -> list[FHIRResourceType]:
    return sorted(_resources.values(), key=lambda r: r.type)


def fhir_resource(type_name: str) -> FHIRResourceType | None:
    return _resources.get(type_name)


ANY_RESOURCE_SCOPES = {
    "system/*.read": "Read any resource as a system client",
    "system/*.write": "Create and update any resource as a system client",
}


def fhir_scopes() -> dict[str, str]:
    """Every scope a system client may hold: any resource, then each registered type's two."""
    scopes = dict(ANY_RESOURCE_SCOPES)
    for resource in sorted(_resources.values(), key=_scope_order):
        scopes[f"system/{resource.type}.read"] = resource.read_scope
        scopes[f"system/{resource.type}.write"] = resource.write_scope
    return scopes


def _scope_order(resource: FHIRResourceType) -> int:
    return list(_resources).index(resource.type)

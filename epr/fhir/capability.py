"""The CapabilityStatement is assembled from what each app registers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str = ""


@dataclass(frozen=True)
class ResourceCapability:
    type: str
    profile: str
    interactions: tuple[str, ...]
    search_params: tuple[SearchParam, ...] = field(default_factory=tuple)


_resources: dict[str, ResourceCapability] = {}


def register_resource(capability: ResourceCapability) -> None:
    _resources[capability.type] = capability


def capability_statement(*, base_url: str, date: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": settings.EPR_ORGANISATION_ODS,
        "kind": "instance",
        "software": {"name": "EPR", "version": "0.1.0"},
        "implementation": {"description": "Electronic patient record FHIR API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth2 bearer tokens from /o/token/ (client credentials), or a session.",
                },
                "resource": [
                    {
                        "type": r.type,
                        "profile": r.profile,
                        "interaction": [{"code": i} for i in r.interactions],
                        "versioning": "versioned-update",
                        "searchParam": [
                            {"name": p.name, "type": p.type, "documentation": p.documentation}
                            for p in r.search_params
                        ],
                    }
                    for r in sorted(_resources.values(), key=lambda r: r.type)
                ],
            }
        ],
    }

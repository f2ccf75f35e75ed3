"""The CapabilityStatement, assembled from the resource types the apps register (registry.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from epr.fhir.registry import fhir_resources


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
                        "profile": r.capability.profile,
                        "interaction": [{"code": i} for i in r.capability.interactions],
                        "versioning": "versioned-update",
                        "searchParam": [
                            {"name": p.name, "type": p.type, "documentation": p.documentation}
                            for p in r.capability.search_params
                        ],
                    }
                    for r in fhir_resources()
                ],
            }
        ],
    }

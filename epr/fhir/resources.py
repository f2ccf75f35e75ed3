"""Validation of FHIR R4 resources with fhir.resources (R4B models, R4-compatible), and Bundles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from epr.fhir.errors import FHIRError


def _describe(error: ValidationError) -> tuple[str, list[str]]:
    messages, paths = [], []
    for item in error.errors()[:5]:
        path = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function"))
        messages.append(f"{path or 'resource'}: {item['msg']}")
        if path:
            paths.append(path)
    return "; ".join(messages), paths


def parse_resource(data: Any, expected_type: str):
    """Validate incoming JSON as a resource of the expected type; 400/422 OperationOutcome otherwise."""
    if not isinstance(data, dict):
        raise FHIRError("The body must be a JSON object holding one FHIR resource.", code="structure")
    found = data.get("resourceType")
    if found != expected_type:
        raise FHIRError(
            f"Expected a {expected_type} resource but got resourceType {found!r}.",
            code="invalid",
            expression=["resourceType"],
        )
    try:
        return get_fhir_model_class(expected_type).model_validate(data)
    except ValidationError as exc:
        message, paths = _describe(exc)
        raise FHIRError(message, status_code=400, code="structure", expression=paths) from exc


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Check an outgoing resource against the FHIR models and return it pruned of empty values."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return model.model_dump(mode="json", exclude_none=True)


def search_bundle(
    *,
    base_url: str,
    path: str,
    params: dict[str, str],
    entries: list[dict[str, Any]],
    total: int,
    offset: int,
    count: int,
) -> dict[str, Any]:
    """A searchset Bundle with self/first/previous/next/last links by _offset paging."""

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode({**params, "_count": count, "_offset": at}, doseq=True)
        return {"relation": relation, "url": f"{base_url}{path}?{query}"}

    links = [link("self", offset), link("first", 0)]
    if offset > 0:
        links.append(link("previous", max(offset - count, 0)))
    if offset + count < total:
        links.append(link("next", offset + count))
    links.append(link("last", max(((total - 1) // count) * count, 0) if total else 0))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/{e['resourceType']}/{e['id']}",
                "resource": e,
                "search": {"mode": "match"},
            }
            for e in entries
        ],
    }

"""Validation of FHIR R4 resources with fhir.resources (R4B models, R4-compatible), and Bundles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from pydantic import ValidationError
from rest_framework.renderers import JSONRenderer

from epr.fhir.errors import FHIRError
from epr.parsing import ascii_int

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/"

Coding = tuple[str, str, str]  # system, code, display


def etag(version: int) -> str:
    """The weak ETag of a resource version, as sent in ETag and expected in If-Match."""
    return f'W/"{version}"'


def instant(moment: datetime) -> str:
    """A FHIR dateTime or instant as the FHIR models write one: UTC as "Z"."""
    text = moment.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def codeable_concept(*codings: Coding, text: str | None = None) -> dict[str, Any]:
    """An outgoing CodeableConcept (an absent text is pruned when the resource is validated)."""
    return {
        "coding": [{"system": s, "code": c, "display": d} for s, c, d in codings],
        "text": text,
    }


def concept_codes(concept: Any) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, display) of each coding of a parsed CodeableConcept."""
    return [(c.system, c.code, c.display) for c in (getattr(concept, "coding", None) or [])]


def concept_text(concept: Any) -> str:
    """The words of a CodeableConcept: its text, else the first coding's display or code."""
    if concept is None:
        return ""
    if concept.text:
        return str(concept.text)
    return next((display or code or "" for _, code, display in concept_codes(concept)), "")


def reference_id(
    reference: str, resource_type: str, *, base_url: str | None = None, bare_id: bool = False
) -> int | None:
    """The id in a reference such as "Patient/12" (also after base_url + "/" when given, and as a bare
    "12" when bare_id), or None when it is not a reference to resource_type by a whole-number id."""
    local = reference if base_url is None else reference.removeprefix(f"{base_url}/")
    prefix = f"{resource_type}/"
    if not bare_id and not local.startswith(prefix):
        return None
    return ascii_int(local.removeprefix(prefix))


def _describe(error: ValidationError) -> tuple[str, list[str]]:
    messages, paths = [], []
    for item in error.errors()[:5]:
        path = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function"))
        messages.append(f"{path or 'resource'}: {item['msg']}")
        if path:
            paths.append(path)
    return "; ".join(messages), paths


def _is_resource_type(name: Any) -> bool:
    if not isinstance(name, str) or not name.isascii() or not name.isalpha():
        return False
    try:
        model = get_fhir_model_class(name)
    except ValueError:  # "Nope is not a valid FHIR Model"
        return False
    return issubclass(model, FHIRResourceModel)


def _check_shape(data: dict[str, Any]) -> None:
    """Refuse, by path, what the FHIR models crash on instead of reporting (a TypeError, KeyError or
    AttributeError would be a 500): a nested resourceType that is not a resource's name, and a
    primitive's extension (_gender) that is not an object (or, for a list, a list of objects or nulls).
    """
    stack: list[tuple[str, Any]] = [(str(data.get("resourceType")), data)]
    while stack:  # iterative: the document may be nested nearly as deep as the parser allows
        path, item = stack.pop()
        if isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
            continue
        if not isinstance(item, dict):
            continue
        if "resourceType" in item and not _is_resource_type(item["resourceType"]):
            raise FHIRError(
                f"{path}.resourceType must name a FHIR R4 resource type, not {item['resourceType']!r:.40}.",
                code="structure",
                expression=[f"{path}.resourceType"],
            )
        for key, value in item.items():
            name = f"{path}.{key}"
            if isinstance(key, str) and key.startswith("_") and not _is_primitive_extension(value):
                raise FHIRError(
                    f"{name} must be an object holding the id and extensions of {key[1:]} "
                    "(a list of such objects or nulls where the element repeats).",
                    code="structure",
                    expression=[name],
                )
            stack.append((name, value))


def _is_primitive_extension(value: Any) -> bool:
    if isinstance(value, list):
        return all(v is None or isinstance(v, dict) for v in value)
    return isinstance(value, dict)


def parse_resource(data: Any, expected_type: str) -> Any:
    """Validate incoming JSON as a resource of the expected type; 400/422 OperationOutcome otherwise."""
    if not isinstance(data, dict):
        raise FHIRError("The body must be a JSON object holding one FHIR resource.", code="structure")
    found = data.get("resourceType")
    if found != expected_type:
        raise FHIRError(
            f"Expected a {expected_type} resource but got resourceType {found!r:.40}.",
            code="invalid",
            expression=["resourceType"],
        )
    _check_shape(data)
    try:
        return get_fhir_model_class(expected_type).model_validate(data)
    except ValidationError as exc:
        message, paths = _describe(exc)
        raise FHIRError(message, status_code=400, code="structure", expression=paths) from exc
    except Exception as exc:  # the models crash on some malformed input: still the client's fault
        raise FHIRError(
            f"The {expected_type} resource is malformed and could not be read as FHIR R4 JSON.",
            code="structure",
        ) from exc


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def pruned(value: Any) -> Any:
    """The value without absent (None) elements, and without lists and objects left empty by that:
    FHIR allows no empty element."""
    if isinstance(value, dict):
        kept = {key: pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if not _is_empty(item)}
    if isinstance(value, list):
        return [item for item in (pruned(item) for item in value) if not _is_empty(item)]
    return value


def _first_difference(left: Any, right: Any, path: str) -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                return _first_difference(left.get(key), right.get(key), f"{path}.{key}")
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path}: sent {left!r}, the model gives {right!r}"


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """An outgoing resource, pruned of empty values.

    With EPR_FHIR_VALIDATE_RESPONSES (on in the tests) it is also checked against the FHIR models, and
    must be exactly what the models themselves would send. The models cost milliseconds a response,
    so a running server sends what every test proved valid, without checking it again."""
    sent: dict[str, Any] = pruned(resource)
    if settings.EPR_FHIR_VALIDATE_RESPONSES:
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        expected = model.model_dump(mode="json", exclude_none=True)
        as_sent = json.loads(JSONRenderer().render(sent))
        if as_sent != expected:
            where = _first_difference(as_sent, expected, resource["resourceType"])
            raise AssertionError(f"An outgoing resource differs from its FHIR model's rendering at {where}")
    return sent


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

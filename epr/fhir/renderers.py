from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

FHIR_CONTENT_TYPE = "application/fhir+json"


class FHIRJSONRenderer(JSONRenderer):
    media_type = FHIR_CONTENT_TYPE
    format = "fhir+json"
    charset = "utf-8"


class PlainJSONRenderer(JSONRenderer):
    """Clients that ask for application/json get the same body."""


class _SafeJSONParser(JSONParser):
    """JSON that Python and PostgreSQL can hold: no NUL characters, no nesting deep enough to
    exhaust the parser's recursion (both would otherwise surface as a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("The JSON is nested too deeply.") from exc
        if _holds_nul(data):
            raise ParseError("The JSON contains a NUL character, which no element may hold.")
        return data


def _holds_nul(value: Any) -> bool:
    stack = [value]  # iterative: the parsed document may be nested nearly as deep as the parser allows
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class FHIRJSONParser(_SafeJSONParser):
    media_type = FHIR_CONTENT_TYPE


class PlainJSONParser(_SafeJSONParser):
    media_type = "application/json"

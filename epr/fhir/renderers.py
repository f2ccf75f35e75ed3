from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

FHIR_CONTENT_TYPE = "application/fhir+json"


class FHIRJSONRenderer(JSONRenderer):
    media_type = FHIR_CONTENT_TYPE
    format = "fhir+json"
    charset = "utf-8"


class PlainJSONRenderer(JSONRenderer):
    """Clients that ask for application/json get the same body."""


class FHIRJSONParser(JSONParser):
    media_type = FHIR_CONTENT_TYPE


class PlainJSONParser(JSONParser):
    media_type = "application/json"

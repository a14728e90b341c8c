"""The OpenAPI schema lists the error responses each operation can give, with their bodies.

drf-spectacular documents only the success response of an operation. A client (or a fuzzer
checking the schema) must also know the errors: the REST API answers validation errors as
DRF does (`{"field": ["…"]}`, or a list of messages) and every other error as
`{"detail": "…"}`; the agent API answers 400 as `{"errors": {"packages[3].version": ["…"]}}`
(agent/PROTOCOL.md). Codes an operation declares itself (a 409 with its own body) are kept.

Times of day are wall-clock times in a tenant's zone ("22:00:00"): JSON Schema's `time`
format is RFC 3339's, which requires a UTC offset, so they are described by a pattern instead.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

__all__ = ["AutoSchema"]

AGENT_PREFIX = "/api/agent/"
WALL_CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_VALIDATION = {
    "description": "Messages by field name (nested for nested fields), or a list of messages.",
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
}
_AGENT_ERRORS = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "description": "Messages by field path, with list indexes: `packages[3].version`.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    },
    "required": ["errors"],
}
_COMPONENTS = {"ErrorDetail": _DETAIL, "ValidationErrors": _VALIDATION, "AgentValidationErrors": _AGENT_ERRORS}

_REST_ERRORS = {
    "400": ("ValidationErrors", "The request is invalid; the body names the fields."),
    "401": ("ErrorDetail", "No credentials, or an invalid, expired or revoked token."),
    "403": ("ErrorDetail", "The caller's role does not allow this."),
    "404": ("ErrorDetail", "No such object, or not one the caller may see."),
}
_AGENT_ERRORS_BY_CODE = {
    "400": ("AgentValidationErrors", "A field is missing, has the wrong type or an impossible value."),
    "401": ("ErrorDetail", "Unknown, revoked or rotated device token (or enrollment token)."),
    "403": ("ErrorDetail", "The device's organisation is deactivated."),
    "413": ("ErrorDetail", "The body is larger than the limit, or has more entries than allowed."),
}


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            del schema["format"]
            schema["pattern"] = WALL_CLOCK_TIME
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, (component, description) in self._error_codes().items():
            if code not in responses:
                response = OpenApiResponse(self._error_component(component), description)
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))

    def _error_codes(self) -> dict[str, tuple[str, str]]:
        if self.path.startswith(AGENT_PREFIX):
            return _AGENT_ERRORS_BY_CODE
        codes = {}
        has_body = self.method in ("POST", "PUT", "PATCH")
        has_query = any(parameter["in"] == "query" for parameter in self._get_parameters())
        if has_body or has_query or self.method == "DELETE":
            codes["400"] = _REST_ERRORS["400"]
        if self.get_auth():
            codes["401"] = _REST_ERRORS["401"]
            codes["403"] = _REST_ERRORS["403"]
        if "{" in self.path or has_body or has_query:
            # A missing or invisible object, a tenant named in the body or the query that the
            # caller cannot see, a page past the end.
            codes["404"] = _REST_ERRORS["404"]
        return codes

    def _error_component(self, name: str) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=_COMPONENTS[name])
        self.registry.register_on_missing(component)
        return component.ref

"""OpenAPI: declare the one error shape (dr_portal.api_errors) on every operation.

A drf-spectacular postprocessing hook, so no view has to remember it: each
operation gets 400/401/403/404/409/429/500 answering with the `Error` schema,
unless it already declares that status with a body of its own.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error has this shape; `code` is stable, `detail` is for people.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "description": "the HTTP status again"},
                "code": {
                    "type": "string",
                    "description": "stable: invalid, malformed_id, not_found, not_authenticated, "
                    "authentication_failed, mfa_required, permission_denied, throttled, server_error, "
                    "or a refusal's code (incident_refused, run_refused, backup_refused, …)",
                },
                "detail": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "for 400 with field errors: field name → list of messages",
                },
            },
            "required": ["status", "code", "detail"],
        }
    },
    "required": ["error"],
}

ERROR_RESPONSES: dict[str, str] = {
    "400": "Bad input: invalid fields, a malformed id, unparseable or too deeply nested JSON",
    "401": "No or bad credentials",
    "403": "Not allowed (for example a second factor is needed: code mfa_required)",
    "404": "Not found, or not visible to you",
    "409": "Refused by the rules in the current state; nothing changed",
    "429": "Too many requests",
    "500": "Unexpected server error; it has been logged",
}
# Only where it can happen: the intake answers 503 while ALERT_INTAKE_TOKEN is unset.
EXTRA_RESPONSES: dict[str, dict[str, str]] = {
    "/api/v1/intake/": {"503": "Alert intake is off (ALERT_INTAKE_TOKEN is not set)"},
}

_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: the `Error` component plus its responses on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, path_item in result.get("paths", {}).items():
        extra = {c: d for prefix, more in EXTRA_RESPONSES.items() if path.startswith(prefix) for c, d in more.items()}
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            _path_ids_are_uuids(operation)
            responses = operation.setdefault("responses", {})
            for code, description in {**ERROR_RESPONSES, **extra}.items():
                declared = responses.get(code)
                if declared is None:
                    responses[code] = {"description": description, "content": content}
                elif "content" not in declared:
                    declared["content"] = content
    return result


def _path_ids_are_uuids(operation: dict[str, Any]) -> None:
    """Every object in the API is named by a UUID public id, so an `…id` path parameter is one."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if (
            parameter.get("in") == "path"
            and parameter.get("name", "").endswith("id")
            and schema.get("type") == "string"
        ):
            schema.setdefault("format", "uuid")

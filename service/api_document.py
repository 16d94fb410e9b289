"""The OpenAPI document as the service really answers, built on the one BentoML generates.

BentoML 1.4 documents a 400's `detail` as a string while it sends pydantic's list of errors,
and leaves out routes mounted beside the APIs (`/model`, `/ui`) and the refusals made before
an API runs (401, 413, 415). Clients generate code from this document, so it must match.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
FIELD_ERROR = {
    "type": "object",
    "required": ["type", "loc", "msg"],
    "properties": {
        "type": {"type": "string"},
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
    },
}
INVALID_ARGUMENT = {
    "type": "object",
    "title": "InvalidArgument",
    "description": "Bad Request: `detail` lists each field that is wrong and why",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "array", "items": FIELD_ERROR},
    },
}
REFUSALS = {
    401: "a valid API token is required (`Authorization: Bearer <token>`)",
    413: "the body is over the limit (`limits.max_body_bytes` in /model)",
    415: "the body is not JSON (`Content-Type: application/json`)",
}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def refusal(status: int) -> dict[str, Any]:
    return json_response(REFUSALS[status], {"$ref": "#/components/schemas/Error"})


def service_document(
    generated: dict[str, Any], apis: Collection[str], protected: Collection[str], token: bool
) -> dict[str, Any]:
    """BentoML's document with the 400 shape fixed, the page routes and the refusals added."""
    doc = copy.deepcopy(generated)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["InvalidArgument"] = INVALID_ARGUMENT
    schemas["Error"] = ERROR
    doc["paths"]["/model"] = {
        "get": {
            "description": "The served model's version, lineage, metrics, schema and limits",
            "operationId": "model_card",
            "responses": {"200": json_response("The model card", {"type": "object"})},
        }
    }
    doc["paths"]["/ui"] = {
        "get": {
            "description": "The web page: a form for one prediction",
            "operationId": "web_page",
            "responses": {
                "200": {
                    "description": "HTML",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    for api in apis:
        responses = doc["paths"][api]["post"]["responses"]
        responses.update({str(status): refusal(status) for status in (413, 415)})
    if token:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path in protected:
            for operation in doc["paths"].get(path, {}).values():
                operation["security"] = [{"bearer": []}]
                operation["responses"]["401"] = refusal(401)
    return doc

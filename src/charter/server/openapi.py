"""The OpenAPI 3.1 description of the API, served at /openapi.json and checked in as
docs/openapi.json (a test keeps the two equal and validates answers against it)."""

from __future__ import annotations

from typing import Any

from .. import __version__

_KINDS = ["complied", "violated", "unspecified", "not_applicable", "conflict", "overridden", "pending"]
_STATUSES = ["violated", "conflict", "unspecified", "pending", "complied"]
_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": [p for p in properties if p not in optional]}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_STAMP = {"policy_hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, "charter_version": _STRING}

_SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _object({"code": _STRING, "message": _STRING, "location": _NULLABLE_STRING})}),
    "Verdict": _object({
        "norm": _STRING, "turn": {"type": ["integer", "null"]}, "verdict": {"enum": _KINDS},
        "authority": _STRING, "severity": _STRING, "reason": _NULLABLE_STRING, "gap": {"type": "boolean"},
        "escalate_to": _NULLABLE_STRING, "unknown": _array(_STRING), "overridden_by": _NULLABLE_STRING,
        "call": {"type": ["integer", "null"]},
        "explanation": {"oneOf": [{"type": "null"}, _object(
            {"path": _array({"type": "object"}), "facts": _array({"type": "object"}),
             "matches": _array({"type": "object"})})]},
    }),
    "TraceReport": _object({"id": _STRING, "status": {"enum": _STATUSES}, "source": _STRING,
                            "verdicts": _array(_ref("Verdict")), **_STAMP}, optional=("source",)),
    "Provenance": _object({"policy_hash": _STAMP["policy_hash"], "policy_files": _array(_STRING),
                           "charter_version": _STRING}),
    "CheckAnswer": _object({"traces": _array(_ref("TraceReport")), "summary": {"type": "object"},
                            "provenance": _ref("Provenance"), **_STAMP}),
    "Session": _object({"id": _STRING, "messages": {"type": "integer"}, "expires_in": {"type": "number"},
                        "pending": _array(_ref("Verdict")), **_STAMP}),
    "MessageAnswer": {"allOf": [_ref("Session"), _object({"settled": _array(_ref("Verdict"))})]},
    "MetaAnswer": {"allOf": [_ref("Session"), _object({"meta": {"type": "object"}})]},
    "CandidateAnswer": _object({
        "decision": {"enum": ["allow", "regenerate", "escalate", "block"]}, "allowed": {"type": "boolean"},
        "deciding_norms": _array(_STRING), "targets": _array(_STRING), "open_facts": _array(_STRING),
        "question_ids": _array(_STRING), "escalation": {"type": ["integer", "null"]},
        "blocking": _array(_ref("Verdict")), "verdicts": _array(_ref("Verdict")),
        **_STAMP}),
    "Escalation": _object({
        "id": {"type": "integer"}, "conversation": {"type": "object"}, "candidate": {"type": "object"},
        "verdicts": _array(_ref("Verdict")), "policy_hash": _STAMP["policy_hash"], "targets": _array(_STRING),
        "question_ids": _array(_STRING), "created": _STRING, "status": {"enum": ["open", "resolved"]},
        "note": _NULLABLE_STRING, "resolved": _NULLABLE_STRING}),
    "EscalationList": _object({"escalations": _array(_ref("Escalation")), "counts": _object(
        {"open": {"type": "integer"}, "resolved": {"type": "integer"}})}),
    "CheckLine": {"description": "One line of the answer to a JSON Lines body: the report of the trace on that "
                                 "line, or its error.",
                  "oneOf": [{"allOf": [_ref("TraceReport"), _object({"line": {"type": "integer"}})]},
                            {"allOf": [_ref("Error"), _object({"line": {"type": "integer"}})]}]},
    "Norm": _object({"name": _STRING, "charter": _STRING, "authority": _STRING, "severity": _STRING,
                     "scope": _STRING, "default": {"type": "boolean"}, "description": _NULLABLE_STRING}),
    "ReloadError": _object({"at": _STRING, "message": _STRING, "location": _NULLABLE_STRING,
                            "diagnostics": _array({"type": "object"}), "dropped_norms": _array(_STRING)}),
    "PolicyInfo": _object({
        "policies": _array(_STRING), "sources": _array(_STRING), "content_hash": _STAMP["policy_hash"],
        "loaded_at": _STRING, "charter_version": _STRING, "norms": _array(_ref("Norm")),
        "last_reload": {"oneOf": [{"type": "null"}, _object(
            {"at": _STRING, "ok": {"type": "boolean"}, "changed": {"type": "boolean"}})]},
        "last_reload_error": {"oneOf": [{"type": "null"}, _ref("ReloadError")]},
    }),
    "ReloadAnswer": _object({"reloaded": {"const": True}, "policy": _ref("PolicyInfo")}),
    "Health": _object({"status": {"const": "ok"}}),
    "SessionRequest": {"type": "object", "additionalProperties": False, "properties": {
        "meta": {"type": "object"},
        "messages": {**_array(_ref("Message")), "description": "Earlier history: its verdicts are in `settled`."}}},
    "Message": {"type": "object", "description": "A message in Charter's native trace form (docs/traces.md).",
                "properties": {"role": _STRING, "content": {}, "tool_calls": _array({"type": "object"}),
                               "labels": {"type": "object"}}},
    "Trace": {"description": "A trace in any supported format (native, OpenAI, Anthropic, Inspect, "
                             "Hugging Face), or an array of traces.",
              "oneOf": [{"type": "object"}, _array({"type": "object"})]},
}

_ERRORS = {
    "400": "Malformed JSON, nesting too deep, an unknown format or a bad query parameter.",
    "401": "A bearer token is required (--token-file) and was missing or wrong.",
    "403": "Reloading over HTTP is off: the server was started without --token-file.",
    "404": "No such session (unknown or expired), or no escalation queue (start with --escalations FILE).",
    "409": "Refused: the session is finished (closed by DELETE), or a reload would drop norms being served "
           "(add ?force=true if that is meant).",
    "413": "The body is larger than the limit, or the session holds its limit of messages or bytes.",
    "415": "The body is not declared as JSON.",
    "422": "Well-formed JSON that is not what the endpoint takes.",
    "429": "The server holds its limit of open sessions.",
    "503": "The request took longer than the per-request time budget, or the escalation queue failed.",
}


def _answer(description: str, schema: dict[str, Any], errors: str, status: str = "200") -> dict[str, Any]:
    responses: dict[str, Any] = {status: {"description": description,
                                          "content": {"application/json": {"schema": schema}}}}
    for code in errors.split():
        responses[code] = {"description": _ERRORS[code],
                           "content": {"application/json": {"schema": _ref("Error")}}}
    return responses


def _body(schema: dict[str, Any], required: bool = True, *media_types: str) -> dict[str, Any]:
    return {"required": required,
            "content": {media_type: {"schema": schema} for media_type in ("application/json", *media_types)}}


_SESSION_ID = {"name": "id", "in": "path", "required": True, "schema": _STRING}
_ALL = {"name": "all", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
        "description": "Also list not_applicable verdicts."}
_FORCE = {"name": "force", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
          "description": "Swap the new policy in even if it drops norms being served."}
_STATUS = {"name": "status", "in": "query", "required": False,
           "schema": {"enum": ["open", "resolved", "all"], "default": "open"}}
_TARGET = {"name": "target", "in": "query", "required": False, "schema": _STRING,
           "description": "Only the escalations this authority must answer."}
_FORMAT = {"name": "format", "in": "query", "required": False,
           "schema": {"enum": ["inspect", "anthropic", "openai", "huggingface", "native"]},
           "description": "Read the trace in this format instead of detecting it."}


def _paths() -> dict[str, Any]:
    return {
        "/health": {"get": {"summary": "Liveness (never needs a token).", "security": [],
                            "responses": _answer("Serving.", _ref("Health"), "")}},
        "/metrics": {"get": {"summary": "Prometheus metrics.", "responses": {
            "200": {"description": "Metrics in the Prometheus text format.",
                    "content": {"text/plain": {"schema": _STRING}}},
            "401": _answer("", {}, "401")["401"]}}},
        "/openapi.json": {"get": {"summary": "This description.",
                                  "responses": _answer("OpenAPI 3.1.", {"type": "object"}, "401")}},
        "/v1/check": {"post": {
            "summary": "Check a whole trace (or an array of traces): the report of `charter check --format json`. "
                       "A JSON Lines body (application/x-ndjson or application/jsonl, a trace a line) is answered "
                       "in JSON Lines: a report or an error a line, with its `line` number.",
            "parameters": [_FORMAT, _ALL],
            "requestBody": _body(_ref("Trace"), True, "application/x-ndjson", "application/jsonl"),
            "responses": _with_lines(_answer("The report.", _ref("CheckAnswer"), "400 401 413 415 422 503"))}},
        "/v1/policy": {"get": {"summary": "The policy being served: norms, content hash, load time, last reload.",
                               "responses": _answer("The policy.", _ref("PolicyInfo"), "401")}},
        "/v1/policy/reload": {"post": {
            "summary": "Load the policy files again; the new policy is swapped in only if it loads and keeps "
                       "every norm being served (or ?force=true). Off without --token-file.",
            "parameters": [_FORCE],
            "responses": _answer("Reloaded.", _ref("ReloadAnswer"), "400 401 403 409 413 415 422 503")}},
        "/v1/sessions": {"post": {
            "summary": "Open a session: one conversation checked message by message.",
            "parameters": [_ALL], "requestBody": _body(_ref("SessionRequest"), required=False),
            "responses": _answer("Opened; `settled` holds the verdicts the history settled.", _ref("MessageAnswer"),
                                 "400 401 413 415 422 429 503", "201")}},
        "/v1/sessions/{id}": {
            "parameters": [_SESSION_ID],
            "get": {"summary": "The session's pending obligations.",
                    "responses": _answer("The session.", _ref("Session"), "401 404 409 503")},
            "delete": {"summary": "Close the session: the report of the whole conversation.",
                       "parameters": [_ALL],
                       "responses": _answer("The final report.", _ref("TraceReport"), "400 401 404 409 503")},
            "patch": {"summary": "Change the trace's meta from the next message on, by a JSON merge patch "
                                 "(RFC 7396); the answer's `meta` is what the next message will see.",
                      "requestBody": _body({"type": "object"}, True, "application/merge-patch+json"),
                      "responses": _answer("Updated.", _ref("MetaAnswer"), "400 401 404 409 413 415 422 503")}},
        "/v1/sessions/{id}/messages": {"post": {
            "summary": "Add the next message: the verdicts it settled.", "parameters": [_SESSION_ID, _ALL],
            "requestBody": _body(_ref("Message")),
            "responses": _answer("Added.", _ref("MessageAnswer"), "400 401 404 409 413 415 422 503")}},
        "/v1/sessions/{id}/candidate": {"post": {
            "summary": "Would this assistant reply be allowed? Checked without adding it (role defaults to "
                       "assistant).",
            "parameters": [_SESSION_ID, _ALL], "requestBody": _body(_ref("Message")),
            "responses": _answer("The guardrail's decision; an escalated candidate is kept in the escalation "
                                 "queue (`escalation` is its number) when the server has one.",
                                 _ref("CandidateAnswer"), "400 401 404 409 413 415 422 503")}},
        "/v1/escalations": {"get": {
            "summary": "The escalated candidates kept in the queue (--escalations), oldest first.",
            "parameters": [_STATUS, _TARGET],
            "responses": _answer("The escalations.", _ref("EscalationList"), "400 401 404 503")}},
    }


def _with_lines(responses: dict[str, Any]) -> dict[str, Any]:
    """`/v1/check`'s answers, and the JSON Lines one to a JSON Lines body."""
    responses["200"]["content"]["application/x-ndjson"] = {"schema": _ref("CheckLine")}
    return responses


def openapi_spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Charter policy decision service", "version": __version__,
                 "description": "Check conversation traces against Charter norms over HTTP (docs/server.md). "
                                "Every error answer is {\"error\": {\"code\", \"message\", \"location\"}}."},
        "components": {"schemas": _SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": _paths(),
    }

"""Errors and input limits at the HTTP edge.

Every error answer has one shape, `{"error": {"code", "message", "location"}}`, so a
client in any language handles them alike. `location` says where the problem is:
`body`, `body[2]` (an element of a JSON array body), `body:3` (line 3 of a JSON Lines
body), `body.messages[1]`, `query.format`, `path.id`,
`header.content-type`, `header.authorization`, or `FILE:LINE:COLUMN` for a policy error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..traces.errors import TraceFormatError
from ..traces.reader import parse_json


class ApiError(Exception):
    """An answer other than success: the HTTP status and the error body."""

    def __init__(self, status: int, code: str, message: str, location: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.location = location
        self.headers = headers

    def response(self) -> Response:
        return json_response(error_body(self.code, self.message, self.location), self.status, self.headers)


def error_body(code: str, message: str, location: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "location": location}}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status, headers, media_type="application/json")


def json_bytes(data: Any) -> bytes:
    """JSON with non-ASCII text as it is; a lone surrogate (which a trace may carry as
    `\\ud800`, and no UTF-8 can hold) makes the whole answer fall back to ASCII escapes."""
    try:
        return json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data).encode("ascii")


_JSON_TYPE = re.compile(r"^application/([\w.+-]+\+)?json$")
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl")
# A string token, or one bracket: enough to measure nesting without decoding. The string
# body is possessive and a string may run to the end of the input (unterminated, or ending
# in a lone backslash), so every byte is read once: a backtracking scan of an unterminated
# run of `\"` would be quadratic.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]++|\\(?:.|\Z))*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
BOM = b"\xef\xbb\xbf"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `max_bytes`: from
    Content-Length when the client sends one, else while it streams in. Only this waiting
    runs on the event loop; decoding is CPU work for `decode_json`, off the loop."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:  # nobody is left to read the answer, but it is not our error either
        raise ApiError(400, "client_disconnected", "the client went away before sending the whole body",
                       "body") from None
    return b"".join(chunks)


def decode_json(data: bytes, content_type: str | None, max_depth: int, optional: bool = False,
                where: tuple[str, str] = ("the body", "body")) -> Any:
    """A body decoded as JSON within the nesting limit; with `optional`, an empty body is
    None. A UTF-8 byte-order mark is skipped, as `charter check` skips it. `where` names
    the text in errors, and gives their location (a line of a JSONL body has its own)."""
    data = data.removeprefix(BOM)
    if optional and not data.strip():
        return None
    _check_content_type(content_type)
    _check_depth(data, max_depth, where)
    try:
        return parse_json(data)
    except TraceFormatError as error:
        raise ApiError(400, "malformed_json", f"{where[0]} is {error.reason}", where[1]) from None


def is_jsonl(content_type: str | None) -> bool:
    """Whether the body is declared as JSON Lines (one JSON value per line)."""
    return _media_type(content_type) in _JSONL_TYPES


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is larger than the limit of {max_bytes} bytes", "body")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _check_content_type(content_type: str | None) -> None:
    if content_type is None:  # a client that says nothing is taken to send JSON
        return
    media_type = _media_type(content_type)
    if not _JSON_TYPE.match(media_type):
        raise ApiError(415, "unsupported_media_type",
                       f"the body must be JSON (Content-Type: application/json), not {media_type or 'empty'}",
                       "header.content-type")


def _check_depth(data: bytes, max_depth: int, where: tuple[str, str]) -> None:
    """Refuse JSON nested deeper than `max_depth` before decoding it: the decoder's own
    limit would be a recursion error, and every later stage walks the value again."""
    depth = 0
    for token in _JSON_TOKEN.finditer(data):
        bracket = token[0]
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise ApiError(400, "nesting_too_deep",
                               f"{where[0]} nests arrays and objects deeper than the limit of {max_depth}", where[1])
        elif bracket in (b"]", b"}"):
            depth -= 1


def expect_object(value: Any, location: str, allowed: frozenset[str]) -> dict[str, Any]:
    """`value` as a JSON object with no field outside `allowed`."""
    if not isinstance(value, dict):
        raise ApiError(422, "invalid_body", f"expected a JSON object, got {_json_type(value)}", location)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ApiError(422, "invalid_body", f"unknown field {unknown[0]!r}; expected {', '.join(sorted(allowed))}",
                       f"{location}.{unknown[0]}")
    return value


def _json_type(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (dict, "an object"), (list, "an array"), (str, "a string"),
                       ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "null"

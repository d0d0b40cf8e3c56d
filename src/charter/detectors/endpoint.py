"""Detectors behind an HTTP endpoint: a team's own classifier or moderation service,
off unless a detector configuration file names it (`settings.read_config`).

Two shapes of service (`kind`):

- `openai`: an OpenAI-compatible moderation endpoint. It is sent
  `{"model": MODEL, "input": [TEXT, ...]}` and answers `{"results": [{"category_scores":
  {CATEGORY: SCORE, ...}, ...}, ...]}`, one result per text in order; the value is the
  score of the configured `category`, or the highest of them all when none is named.
- `json`: any JSON endpoint. It is sent `{REQUEST_FIELD: [TEXT, ...]}` (plus `model`
  when configured) and the values are found at the `scores` path of the answer: names
  separated by dots, `*` for each element of a list (`results.*.score`), one value per
  text in order; a value that is an object of numbers gives its highest.

Texts are sent `batch` at a time. A request that gets HTTP 429 or 5xx or cannot connect
is tried again up to `retries` times, after `backoff` seconds doubled at each attempt
(or the server's Retry-After, up to MAX_WAIT); a request not answered within `timeout`
seconds is not tried again (a service that hangs would hang again). A service that
cannot answer, or answers out of shape, raises `Unavailable` with what went wrong and
where in the answer: the batch's labels are unknown, naming the detector. The API key,
if any, is read from the environment variable the configuration names, sent as
`Authorization: Bearer KEY`, and never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Any, Sequence

import attrs

from .model import Detection, Unavailable

KINDS = ("openai", "json")
MAX_WAIT = 30.0  # the longest wait before trying again, whatever Retry-After says


@attrs.frozen
class Service:
    """One configured HTTP detector (a `[detectors.NAME]` table of the configuration)."""

    name: str
    url: str
    kind: str = "openai"
    model: str | None = None
    category: str | None = None  # openai: the category whose score is the value (None: the highest)
    request_field: str = "input"  # json: the request's field for the texts
    scores: str = "results.*.category_scores"  # json: where the values are in the answer
    api_key_env: str | None = None
    version: str | None = None  # None: made from the url, model and fields
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    batch: int = 32

    @property
    def path(self) -> str:
        """The scores path the answer is read at."""
        if self.kind == "openai":
            return "results.*.category_scores" + (f".{self.category}" if self.category else "")
        return self.scores


class HttpDetector:
    """A `Detector` that posts texts to a `Service`. Its version is the configured one,
    or a digest of what decides the answers (the url, model, fields): another model or
    endpoint is another version, which the disk cache keeps apart."""

    def __init__(self, service: Service):
        self.service = service
        self.name = service.name
        self.version = service.version or "http-" + hashlib.sha256(json.dumps(
            [service.kind, service.url, service.model, service.request_field, service.path]).encode()).hexdigest()[:12]
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if service.api_key_env is not None:
            key = os.environ.get(service.api_key_env)
            if not key:
                raise LookupError(f"the environment variable {service.api_key_env} (api_key_env) is not set")
            self._headers["Authorization"] = f"Bearer {key}"

    def detect(self, texts: Sequence[str]) -> list[Detection]:
        size = max(1, self.service.batch)
        return [answer for start in range(0, len(texts), size)
                for answer in self._ask(list(texts[start:start + size]))]

    def _ask(self, texts: list[str]) -> list[Detection]:
        service = self.service
        body: dict[str, Any] = {service.request_field if service.kind == "json" else "input": texts}
        if service.model is not None:
            body["model"] = service.model
        answer = _parsed(self._post(json.dumps(body).encode("utf-8", "surrogatepass")), service.url)
        values = _at(answer, service.path.split("."), "")
        if len(values) != len(texts):
            raise Unavailable(f"{service.url} answered {len(values)} values at `{service.path}` for {len(texts)} texts")
        return [Detection(_value(value, where, service.url, service.kind == "openai")) for value, where in values]

    def _post(self, data: bytes) -> bytes:
        # Imported here: http.client brings email and ssl, some 20 ms of every command's
        # start-up, and only a run that asks a detector service needs them.
        import http.client
        import urllib.error
        import urllib.request

        service = self.service
        request = urllib.request.Request(service.url, data=data, headers=self._headers, method="POST")
        for attempt in range(service.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=service.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                why = f"HTTP {error.code}"
                if error.code != 429 and error.code < 500:
                    raise Unavailable(f"{service.url} answered {why}: {_excerpt(error.read())}") from None
                wait = _retry_after(error.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                    raise Unavailable(f"{service.url} did not answer within {service.timeout:g} s") from None
                why, wait = f"{type(reason).__name__}: {reason}", None
            if attempt == service.retries:
                break
            time.sleep(min(MAX_WAIT, wait if wait is not None else service.backoff * 2 ** attempt))
        raise Unavailable(f"{service.url}: {why}, after {service.retries + 1} attempts")


def _parsed(data: bytes, url: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise Unavailable(f"{url} answered no JSON ({error}): {_excerpt(data)}") from None


def _at(value: Any, names: list[str], where: str) -> list[tuple[Any, str]]:
    """The values at a dotted path (`*`: each element of a list), each with its place."""
    if not names:
        return [(value, where or "the answer")]
    head, rest = names[0], names[1:]
    if head == "*":
        if not isinstance(value, list):
            raise Unavailable(f"the answer's `{where or '.'}` is {_kind(value)}, not a list")
        return [found for i, item in enumerate(value) for found in _at(item, rest, f"{where}[{i}]")]
    place = f"{where}.{head}" if where else head
    if not isinstance(value, dict) or head not in value:
        raise Unavailable(f"the answer has no `{place}`")
    return _at(value[head], rest, place)


def _value(value: Any, where: str, url: str, scores_only: bool) -> bool | float | str:
    """A value of the answer as a label's value (a moderation endpoint's are scores); an
    object of scores gives its highest."""
    if isinstance(value, dict):
        scores = [v for v in value.values() if _number(v)]
        if not scores:
            raise Unavailable(f"the answer's `{where}` from {url} has no scores")
        return max(scores)
    if _number(value) or (not scores_only and isinstance(value, (bool, str))):
        return value
    raise Unavailable(f"the answer's `{where}` from {url} is {_kind(value)}, not a score")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _excerpt(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().replace("\n", " ")
    return (text[:120] + "…") if len(text) > 120 else text or "(empty)"


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff will do

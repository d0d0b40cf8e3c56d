"""The policy being served, and hot reload.

A reload compiles the policy files aside, in a worker thread, and swaps the one
reference `PolicyHolder.current` only when they load without errors: a request reads
that reference once and uses what it got to the end, so none ever sees a half-loaded
policy. A reload fails closed: a policy that drops norms being served (an empty or
truncated file is a valid policy with no norms, which allows everything) is refused
unless the operator forces it. On an error or a refusal the old policy keeps serving
and the reason is kept for `/v1/policy`, counted in the metrics and logged.
"""

from __future__ import annotations

import datetime
import logging
import os
from pathlib import Path
from typing import Any, Callable

import anyio
import anyio.to_thread
import attrs

from .. import Policy, PolicyError
from ..source.diagnostics import Diagnostic
from ..check.loader import load
from ..reports.render import diagnostic_json, provenance, render_diagnostics
from .checking import PolicySource, recording_reader
from .metrics import Metrics

log = logging.getLogger("charter.server")


@attrs.frozen
class LoadedPolicy:
    """One compiled policy and what `/v1/policy` tells about it."""

    policy: Policy
    content_hash: str
    loaded_at: str  # ISO 8601, UTC
    provenance: dict[str, Any]  # as `charter check --format json` gives it
    source: PolicySource  # the texts it was compiled from, for the check worker

    @classmethod
    def load(cls, paths: tuple[str, ...]) -> LoadedPolicy:
        texts: dict[str, str] = {}
        policy = Policy(load(list(paths), read_text=recording_reader(texts)).program)
        return cls(policy, policy.content_hash, _now(), provenance(policy),
                   PolicySource(paths, texts, policy.content_hash))

    def norm_names(self) -> list[str]:
        return [n.name for n in self.policy.program.norms]

    def files(self) -> list[str]:
        """The loaded sources that are files (a `std.NAME` module is not)."""
        return [s.name for s in self.policy.program.sources if os.path.isfile(s.name)]


@attrs.frozen
class ReloadError:
    at: str
    message: str
    location: str | None
    diagnostics: tuple[dict[str, Any], ...] = ()
    dropped_norms: tuple[str, ...] = ()  # a refused reload: the norms it would have dropped

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "message": self.message, "location": self.location,
                "diagnostics": list(self.diagnostics), "dropped_norms": list(self.dropped_norms)}


class PolicyHolder:
    """The policy files given on the command line, their current compiled policy and the
    outcome of the last reload."""

    def __init__(self, paths: tuple[str, ...], metrics: Metrics,
                 on_swap: Callable[[LoadedPolicy], None] = lambda loaded: None):
        self.paths = paths
        self._on_swap = on_swap
        self.current = LoadedPolicy.load(paths)  # a PolicyError here stops the server starting
        self.last_reload: dict[str, Any] | None = None
        self.last_error: ReloadError | None = None
        self._metrics = metrics
        self._lock = anyio.Lock()
        metrics.policy_loaded.set(_timestamp(self.current.loaded_at))

    async def reload(self, force: bool = False) -> ReloadError | None:
        """Load the files again and swap the policy in if they load and keep every norm
        being served (or `force`); the error otherwise. Reloads run one at a time, so the
        last one started is the one that stays."""
        async with self._lock:
            try:
                loaded = await anyio.to_thread.run_sync(LoadedPolicy.load, self.paths)
            except PolicyError as error:
                return self._failed(_policy_error(error))
            except Exception as error:  # reading the files failed in some other way: keep serving
                return self._failed(ReloadError(_now(), f"{type(error).__name__}: {error}", None))
            kept = set(loaded.norm_names())
            dropped = [n for n in self.current.norm_names() if n not in kept]
            if dropped and not force:
                self._metrics.reloads_refused.inc()
                return self._failed(self._refusal(dropped))
            changed = loaded.content_hash != self.current.content_hash
            self.current = loaded
            self._on_swap(loaded)
            self.last_reload = {"at": loaded.loaded_at, "ok": True, "changed": changed}
            self._metrics.reloads.inc()
            self._metrics.policy_loaded.set(_timestamp(loaded.loaded_at))
            log.info("policy reloaded: %s (%s)", loaded.content_hash, "changed" if changed else "unchanged")
            return None

    def _refusal(self, dropped: list[str]) -> ReloadError:
        served = len(self.current.norm_names())
        return ReloadError(
            _now(), f"refused: the new policy drops {len(dropped)} of the {served} norms being served "
                    f"({', '.join(dropped)}); an empty or truncated policy file would allow everything. "
                    "If the norms are meant to go, force it: POST /v1/policy/reload?force=true",
            self.paths[0], dropped_norms=tuple(dropped))

    def _failed(self, error: ReloadError) -> ReloadError:
        self.last_error = error
        self.last_reload = {"at": error.at, "ok": False, "changed": False}
        self._metrics.reload_errors.inc()
        log.error("policy reload failed, still serving %s:\n%s", self.current.content_hash, error.message)
        return error

    async def watch(self) -> None:
        """Reload whenever a loaded policy file changes (until cancelled). The directories
        are watched, not the files, so an editor that replaces a file is seen too."""
        import watchfiles

        watched = {str(Path(p).resolve()) for p in self.paths if os.path.isfile(p)}
        watched |= {str(Path(f).resolve()) for f in self.current.files()}
        directories = sorted({str(Path(f).parent) for f in watched})
        if not directories:
            return
        async for _ in watchfiles.awatch(*directories, watch_filter=lambda _, path: path in watched,
                                         debounce=200, step=50):
            await self.reload()
            watched |= {str(Path(f).resolve()) for f in self.current.files()}


def _policy_error(error: PolicyError) -> ReloadError:
    diagnostics: list[Diagnostic] = sorted(error.diagnostics, key=Diagnostic.sort_key)
    first = diagnostics[0].span if diagnostics else None
    location = f"{first.source}:{first.line}:{first.column}" if first else None
    return ReloadError(_now(), render_diagnostics(diagnostics, error.sources), location,
                       tuple(diagnostic_json(d) for d in diagnostics))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _timestamp(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso).timestamp()

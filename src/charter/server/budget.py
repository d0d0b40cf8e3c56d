"""Request work off the event loop, within the per-request time budget.

A `Lane` is one worker thread: the event loop only reads bodies and writes answers, so
`/health` answers while a lane computes. A request waits for its turn and for its work
within its budget. Work that outlives the budget is not left running beside the next
request's: the lane stays busy until that work really ends (so abandoned work never
piles up), and a lane that can end its work sooner does so (`on_abandon`: the check
lane kills its worker process, see `checking.py`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable

from .errors import ApiError


class Claim:
    """Who owns the outcome of a request's work, decided once: the work, which then
    commits it (a session is closed), or the request that gave up waiting, whose work
    must then leave no trace (the session stays open)."""

    def __init__(self) -> None:
        self._taken = threading.Lock()

    def take(self) -> bool:
        return self._taken.acquire(blocking=False)


class Lane:
    """One worker thread; `run` answers a 503 once the budget is spent."""

    def __init__(self, name: str, on_abandon: Callable[[], None] | None = None):
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"charter-{name}")
        self._on_abandon = on_abandon

    async def run(self, work: Callable[[], Any], budget: float, claim: Claim | None = None) -> Any:
        """`work`'s result; with a `claim`, a result the work committed is answered even
        when it arrives just after the budget."""
        future = self._executor.submit(work)
        waiting = asyncio.wrap_future(future)
        waiting.add_done_callback(_dropped)  # an abandoned work's end is not an error to report
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), budget)
        except TimeoutError:
            if claim is None or claim.take():
                self._abandon(future)
                raise ApiError(503, "time_budget_exceeded",
                               f"the request took longer than the budget of {budget:g} s", "body") from None
            return await waiting  # the work committed first: it is ending now
        except asyncio.CancelledError:  # the client went away
            if claim is None or claim.take():
                self._abandon(future)
            raise

    def submit(self, work: Callable[[], None]) -> concurrent.futures.Future:
        """Queue unbudgeted upkeep (say, compiling a policy) that no request waits for."""
        return self._executor.submit(work)

    def _abandon(self, future: concurrent.futures.Future) -> None:
        if not future.cancel() and self._on_abandon is not None:  # running: end it if the lane can
            self._on_abandon()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _dropped(waiting: asyncio.Future) -> None:
    if not waiting.cancelled():
        waiting.exception()

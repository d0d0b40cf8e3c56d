"""`charter review`: a local web application where the people the chain of command names
answer the open questions of a policy, with the evidence, and see what their decision
would change before it is written (docs/review-app.md).

    workspace = Workspace(("policy.charter",), ("traces.jsonl",), "decisions.ledger")
    workspace.refresh()
    app = create_app(workspace)       # a Starlette application; `run` serves it
"""

from __future__ import annotations

from .app import create_app
from .state import Identity, Question, Workspace

__all__ = ["Identity", "Question", "Workspace", "create_app", "run"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def run(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve the application until interrupted (uvicorn, one process)."""
    import uvicorn

    names = ("127.0.0.1", "localhost", "[::1]") if host in LOOPBACK else (host if ":" not in host else f"[{host}]",)
    uvicorn.run(create_app(workspace, names), host=host, port=port, log_level=log_level)

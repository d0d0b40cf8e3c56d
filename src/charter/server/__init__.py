"""`charter serve`: a policy decision service (docs/server.md).

    from charter.server import ServerConfig, create_app
    app = create_app(ServerConfig(("policy.charter",)))   # an ASGI app; run with uvicorn

Needs the `serve` extra (starlette, uvicorn, prometheus-client, watchfiles).
"""

from __future__ import annotations

from .app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app", "run"]


def run(config: ServerConfig, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    """Serve until interrupted, in this process (sessions live in its memory)."""
    import logging

    import uvicorn

    logging.basicConfig(format="%(levelname)-9s %(name)s: %(message)s", level=log_level.upper())
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not a line per file change
    app = create_app(config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)

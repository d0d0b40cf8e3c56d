"""`charter serve`: a policy decision service (docs/server.md).

    from charter.server import ServerConfig, create_app
    app = create_app(ServerConfig(("policy.charter",)))   # an ASGI app; run with uvicorn

Needs the `serve` extra (starlette, uvicorn, prometheus-client, watchfiles).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from .app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app", "exposure_warning", "run", "uvicorn_config"]

log = logging.getLogger("charter.server")


def run(config: ServerConfig, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    """Serve until interrupted, in this process (sessions live in its memory)."""
    import uvicorn

    logging.basicConfig(format="%(levelname)-9s %(name)s: %(message)s", level=log_level.upper())
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not a line per file change
    warning = exposure_warning(host, config.token)
    if warning:
        log.warning(warning)
    app = create_app(config)
    uvicorn.Server(uvicorn_config(app, config, host, port, log_level)).run()


def uvicorn_config(app: Any, config: ServerConfig, host: str, port: int, log_level: str) -> Any:
    """How `charter serve` runs `app`: uvicorn with the per-client bounds of `config`."""
    import uvicorn

    from .connections import bounded_protocol

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False,
                          http=bounded_protocol(config.max_connections, config.read_timeout))


def exposure_warning(host: str, token: str | None) -> str | None:
    """What to shout when the server listens beyond loopback without a token."""
    if token is not None or _loopback(host):
        return None
    return (f"!!! LISTENING ON {host} WITHOUT A TOKEN: anyone who can reach this port can read the "
            "policy (its file paths too), the metrics and every session. Start with --token-file, or "
            "listen on 127.0.0.1 behind a proxy that authenticates. !!!")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False

"""Serve an ASGI app with uvicorn on a thread of its own.

Tests and the offline demo need real HTTP servers that live beside the code driving them; a
thread with its own event loop keeps them independent of whatever loop the caller runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn


class BackgroundServer:
    """A uvicorn server on 127.0.0.1 with an OS-chosen port unless one is given."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start serving and return the base URL once the socket listens."""
        self._thread = threading.Thread(target=self._run, name="background-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("background server did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self.url

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

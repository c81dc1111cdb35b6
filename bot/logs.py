"""Log lines as `key=value` pairs, and quiet the libraries that would log secrets or noise.

slack_sdk logs request bodies (tokens) at DEBUG; httpx logs every request at INFO; APScheduler
logs every job run. None of that belongs in an operator's log.
"""

from __future__ import annotations

import logging
import os

QUIET = ("httpx", "httpcore", "apscheduler", "slack_sdk", "slack_bolt", "aiohttp", "uvicorn")


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(),
        format="time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)

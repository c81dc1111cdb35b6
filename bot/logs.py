"""Log lines as `key=value` pairs carrying the Slack team, user and request they belong to.

Listeners and scheduler jobs bind the context once (`bind`); every line logged under it gets
`team=`, `user=` and `request_id=` without repeating them. Library loggers that would log
secrets or noise are quieted: slack_sdk logs request bodies (tokens) at DEBUG, httpx logs every
request at INFO, APScheduler every job run.
"""

from __future__ import annotations

import contextvars
import logging
import os
import secrets

QUIET = ("httpx", "httpcore", "apscheduler", "slack_sdk", "slack_bolt", "aiohttp", "uvicorn")
FORMAT = "time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s%(context)s"

_context: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "log_context", default=()
)


def bind(**fields: str) -> None:
    """Attach fields (team, user, request_id) to every line logged in this task from now on."""
    merged = dict(_context.get())
    merged.update({name: value for name, value in fields.items() if value})
    _context.set(tuple(merged.items()))


def new_request_id() -> str:
    return secrets.token_hex(6)


class ContextFilter(logging.Filter):
    """Appends the bound fields a line does not already name itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = f" {record.getMessage()}"
        record.context = "".join(
            f" {name}={value}" for name, value in _context.get() if f" {name}=" not in message
        )
        return True


class _DropBoltClientNotice(logging.Filter):
    """bolt warns that SLACK_BOT_TOKEN is unused whenever a client is passed: we always pass one
    (it carries SLACK_API_URL) and it carries that same token, so the warning is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "As you gave `client` as well" not in record.getMessage()


def configure_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    handler.addFilter(_DropBoltClientNotice())

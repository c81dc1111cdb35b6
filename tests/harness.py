"""Drive the bot like Slack does: a subprocess serving HTTP, and signed requests to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import sqlite_utils
from slack_sdk.signature import SignatureVerifier

from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def run_bot(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` to completion: for commands that end (doctor, rotate-keys, errors)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def bare_env(**env: str) -> dict[str, str]:
    """Just enough environment to import the bot, plus `env`."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}


class BotProcess:
    """`python -m bot` against the stand-ins, with its log captured to a file."""

    def __init__(
        self,
        workdir: Path,
        *,
        zoom: ZoomEmulator,
        slack: SlackEmulator,
        signing_secret: str,
        team_id: str = "T0TEAM",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.zoom = zoom
        self.slack = slack
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "zoombot.db"
        self.log_path = workdir / "bot.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(workdir)),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": slack.api_url,
            "ZOOM_CLIENT_ID": zoom.client_id,
            "ZOOM_CLIENT_SECRET": zoom.client_secret,
            "ZOOM_OAUTH_URL": zoom.base_url,
            "ZOOM_API_URL": f"{zoom.base_url}/v2",
            "ZOOMBOT_DB": str(self.db_path),
            "PORT": str(self.port),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(timeout=10.0)

    def start(self, timeout: float = 20.0) -> None:
        if self.http.is_closed:
            self.http = httpx.Client(timeout=10.0)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--host", "127.0.0.1"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited with {self.process.returncode}:\n{self.logs}")
            try:
                return self.http.get(f"{self.url}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, what="the bot's /healthz")

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m bot ARGS` with this bot's configuration (and `env` on top)."""
        return run_bot(list(args), {**self.env, **env}, self.workdir)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a host dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.http.close()

    def rows(self, table: str) -> list[dict[str, Any]]:
        """A table of the bot's database as the bot sees it: secrets decrypted with its key."""
        from bot.encryption import SecretBox, load_keys
        from bot.store import SEALED

        db = sqlite_utils.Database(self.db_path)
        try:
            rows = list(db.table(table).rows) if db.table(table).exists() else []
        finally:
            db.close()
        box = SecretBox(load_keys(self.env.get("ZOOMBOT_ENCRYPTION_KEY"), self.db_path))
        for row in rows:
            for column in SEALED.get(table, ()):
                row[column] = box.open(row[column])
        return rows

    @property
    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # Signed requests, as Slack sends them

    def signed_post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(
            timestamp=str(timestamp), body=body
        )
        return self.http.post(
            f"{self.url}/slack/events",
            content=body.encode(),
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature,
            },
        )

    def command_body(
        self, text: str, *, user_id: str = "U0ALICE", response_url: str = "", **fields: str
    ) -> str:
        payload = {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            "team_domain": "test",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/zoom",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": response_url or self.slack.new_response_url(),
            "trigger_id": "1.2.3",
            **fields,
        }
        return urlencode(payload)

    def command(self, text: str, *, user_id: str = "U0ALICE", **fields: str) -> CommandResult:
        response_url = self.slack.new_response_url()
        body = self.command_body(text, user_id=user_id, response_url=response_url, **fields)
        started = time.monotonic()
        response = self.signed_post(body)
        elapsed = time.monotonic() - started
        return CommandResult(response, elapsed, response_url, self.slack)

    def action(self, payload: dict[str, Any]) -> httpx.Response:
        return self.signed_post(urlencode({"payload": json.dumps(payload)}))

    def block_action(
        self, action_id: str, *, user_id: str = "U0ALICE", **extra: Any
    ) -> httpx.Response:
        """A button press as Slack sends it (from a message, or the Home tab without extras)."""
        return self.action(
            {
                "type": "block_actions",
                "team": {"id": self.team_id, "domain": "test"},
                "user": {"id": user_id, "team_id": self.team_id},
                "api_app_id": "A0APP",
                "trigger_id": "1.2.3",
                "actions": [
                    {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1"}
                ],
                **extra,
            }
        )

    def event(self, event: dict[str, Any], *, team_id: str | None = None) -> httpx.Response:
        """An Events API callback, signed, as Slack delivers it."""
        team = team_id or self.team_id
        envelope = {
            "token": "deprecated",
            "team_id": team,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [
                {"team_id": team, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
            ],
        }
        return self.signed_post(json.dumps(envelope), content_type="application/json")


class CommandResult:
    """The HTTP answer to a slash command plus what later went to its response_url."""

    def __init__(
        self, response: httpx.Response, elapsed: float, response_url: str, slack: SlackEmulator
    ) -> None:
        self.response = response
        self.elapsed = elapsed
        self.response_url = response_url
        self.slack = slack

    @property
    def ack_text(self) -> str:
        if not self.response.content:
            return ""
        return str(self.response.json().get("text", ""))

    def responses(self) -> list[dict[str, Any]]:
        return self.slack.responses_to(self.response_url)

    def wait_response(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        return wait_for(
            lambda: len(self.responses()) >= count and self.responses(),
            timeout,
            what=f"{count} response_url post(s)",
        )

"""`python -m bot demo [--script]`: the first five minutes with nothing but this repository.

The real bot runs as a subprocess, as deployed, against the bundled Slack and Zoom stand-ins on
loopback. The terminal plays Slack: each line typed is sent to the bot as a signed slash command,
and everything the bot says back (the ack, response_url posts, DMs and their edits, uploaded
files) is printed as text. `--script` plays a whole conversation unattended and checks every
answer, so it doubles as a smoke test of a checkout.
"""

from __future__ import annotations

import argparse
import html.parser
import io
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TextIO, TypeVar
from urllib.parse import urlencode, urljoin

import httpx
from slack_sdk.signature import SignatureVerifier

import bot
from bot.emulator.background import BackgroundServer
from bot.emulator.serve import DEMO_EMAIL, demo_zoom
from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator
from bot.slack.pairing_dm import OPEN_LINK_ACTION, QR_FILENAME

T = TypeVar("T")

USER_ID = "U0YOU"
CHANNEL_ID = "C0GENERAL"
CHANNEL_NAME = "general"
POLL_INTERVAL = 2  # seconds the Zoom stand-in makes the bot wait between polls
START_TIMEOUT = 20.0
SCRIPT_BUDGET = 60.0  # the whole --script run, start-up included
STATUS_EVERY = 5.0  # seconds between countdown lines when stdout is not a terminal
LOG_TAIL_LINES = 60
BOT_SUBCOMMANDS = frozenset({"meet", "meeting", "pair", "status", "unpair", "logout"})
QUIT_WORDS = frozenset({"quit", "exit", "q", ":q"})
INDENT = "    "

EMOJI = {
    ":white_check_mark:": "✅",
    ":no_entry_sign:": "🚫",
    ":video_camera:": "📹",
    ":warning:": "⚠️",
}
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^[^|>]*(?:\|[^>]*)?>")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
CHANNEL_REF = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
LABELLED_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
BARE_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^<>|]+)>")
BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")

INTRO = """\
zoombot demo: the real bot, with local stand-ins for Slack and Zoom; nothing leaves this machine.
  Zoom stand-in {zoom}   Slack stand-in {slack}   bot {bot}
You are @you in #general, and {email} on the Zoom stand-in. Try:
  /zoom pair            link your Zoom account (the bot DMs you a code)
  approve | deny        answer that code on the Zoom stand-in's page, as {email}
  /zoom meet standup    start a meeting: join link to the channel, start link to you only
  /zoom status | /zoom unpair | /zoom help
  quit                  stop the demo (Ctrl-D works too)"""

DEMO_HELP = """\
This terminal is Slack: /zoom pair, /zoom meet [topic], /zoom status, /zoom unpair and /zoom help
go to the bot (the word alone works too). approve or deny presses that button on the Zoom
stand-in's approval page, as you@example.com. quit (or Ctrl-D) ends the demo."""


# ---------------------------------------------------------------------- Slack text -> terminal


def local_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def mrkdwn(text: str) -> str:
    """Slack mrkdwn as a terminal shows it: dates local, mentions named, links spelled out."""
    text = DATE_TOKEN.sub(lambda m: local_time(int(m[1])), text)
    text = MENTION.sub(lambda m: "@you" if m[1] == USER_ID else f"@{m[1]}", text)
    text = CHANNEL_REF.sub(lambda m: f"#{m[2] or m[1]}", text)
    text = BROADCAST.sub(lambda m: f"@{m[1]}", text)
    text = LABELLED_LINK.sub(lambda m: f"{m[2]} ({m[1]})", text)
    text = BARE_LINK.sub(lambda m: m[1], text)
    text = BOLD.sub(lambda m: m[1], text)
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def text_of(obj: Any) -> str:
    """A Block Kit text object (plain_text or mrkdwn) as plain text."""
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn(text) if obj.get("type") == "mrkdwn" else text


def element_lines(element: Any) -> list[str]:
    """Buttons as `[label] url`, text as text, images by their alt text."""
    if not isinstance(element, Mapping):
        return []
    kind = element.get("type")
    if kind == "button":
        label = f"[{text_of(element.get('text'))}]"
        return [f"{label} {element['url']}" if element.get("url") else label]
    if kind in ("mrkdwn", "plain_text"):
        return text_of(element).splitlines()
    if kind == "image":
        return [f"[image: {element.get('alt_text', '')}] {element.get('image_url', '')}"]
    return []


def block_lines(block: Any) -> list[str]:
    """One Block Kit block as terminal lines."""
    if not isinstance(block, Mapping):
        return []
    kind = block.get("type")
    if kind == "header":
        title = text_of(block.get("text"))
        return [title, "=" * len(title)]
    if kind == "section":
        lines = text_of(block.get("text")).splitlines()
        fields = [": ".join(text_of(f).splitlines()) for f in block.get("fields") or []]
        if fields:
            lines.append("   ".join(fields))
        return lines + element_lines(block.get("accessory"))
    if kind == "context":
        return [" ".join(line for e in block.get("elements") or [] for line in element_lines(e))]
    if kind == "actions":
        return [line for e in block.get("elements") or [] for line in element_lines(e)]
    if kind == "divider":
        return ["-" * 20]
    return element_lines(block)


def message_lines(message: Mapping[str, Any]) -> list[str]:
    """A message by its blocks, or by its text when it has none."""
    blocks = message.get("blocks") or []
    lines = [line for block in blocks for line in block_lines(block)]
    return lines or mrkdwn(str(message.get("text") or "")).splitlines()


def said(label: str, lines: list[str]) -> str:
    """A message under who said it, prose wrapped to the terminal, links left whole."""
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120)) - 1
    out = [label]
    for line in lines:
        if "://" in line or len(line) + len(INDENT) <= width:
            out.append(f"{INDENT}{line}".rstrip())
        else:
            out += textwrap.wrap(
                line,
                width,
                initial_indent=INDENT,
                subsequent_indent=INDENT,
                break_long_words=False,
                break_on_hyphens=False,
            )
    return "\n".join(out)


def reply_label(body: Mapping[str, Any]) -> str:
    if body.get("response_type") == "in_channel":
        return f"bot, in #{CHANNEL_NAME}:"
    return "bot, visible only to you:"


# ---------------------------------------------------------------------- terminal


class Screen:
    """Whole lines, plus on a terminal one live line (prompt, countdown) rewritten in place."""

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.live: str | None = None

    def say(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")

    def show(self, text: str) -> None:
        """Show the live line; one as long as the last is redrawn around what is being typed."""
        if not self.tty or text == self.live:
            return
        if self.live is not None and len(text) == len(self.live):
            self._write(f"\x1b7\r{text}\x1b8")  # save cursor, redraw, restore: typing survives
        else:
            self._clear()
            self._write(text)
        self.live = text

    def entered(self) -> None:
        """Enter put the cursor on a fresh line; wipe anything a redraw raced onto it."""
        if self.tty:
            self._write("\r\x1b[K")
        self.live = None

    def _clear(self) -> None:
        if self.tty and self.live is not None:
            self._write("\r\x1b[K")
        self.live = None

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


def stdin_lines(stream: IO[str]) -> queue.Queue[str | None]:
    """Lines typed, fed by a daemon thread so the screen keeps updating; None marks the end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        try:
            for line in stream:
                lines.put(line.rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        lines.put(None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()
    return lines


# ---------------------------------------------------------------------- the running parts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotFailed(Exception):
    """The bot did not start or stopped answering; the message says what was seen."""


class Rig:
    """The Zoom and Slack stand-ins on loopback threads and the real bot as a subprocess."""

    def __init__(self, workdir: Path, *, interval: int, verbose: bool) -> None:
        self.workdir = workdir
        self.verbose = verbose
        self.log_path = workdir / "bot.log"
        self.zoom: ZoomEmulator = demo_zoom(interval=interval)
        self.slack = SlackEmulator(team="Demo Team")
        self.signing_secret = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._servers: list[BackgroundServer] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._log_copier: threading.Thread | None = None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Serve the stand-ins, start the bot and wait for its /healthz; BotFailed if it won't."""
        self.zoom.base_url = self._serve(self.zoom.app)
        self.slack.base_url = self._serve(self.slack.app)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--host", "127.0.0.1"],
            cwd=self.workdir,  # no .env of the developer's is read
            env=self.bot_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._log_copier = threading.Thread(target=self._copy_log, name="bot-log", daemon=True)
        self._log_copier.start()
        self._wait_healthy(timeout)

    def bot_env(self) -> dict[str, str]:
        """Only what the bot needs: a developer's own SLACK_*/ZOOM_* must not leak in."""
        package_root = str(Path(bot.__file__).resolve().parent.parent)
        inherited = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SYSTEMROOT")}
        python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        return {
            **inherited,
            "PYTHONPATH": python_path,
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.slack.api_url,
            "ZOOM_CLIENT_ID": self.zoom.client_id,
            "ZOOM_CLIENT_SECRET": self.zoom.client_secret,
            "ZOOM_OAUTH_URL": self.zoom.base_url,
            "ZOOM_API_URL": f"{self.zoom.base_url}/v2",
            "ZOOMBOT_DB": str(self.workdir / "zoombot.db"),
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
        }

    def stop(self) -> None:
        """Stop the bot (politely, then not), then the stand-ins; safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._log_copier is not None:
            self._log_copier.join(5)
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise BotFailed(f"the bot exited (status {code})")

    def _serve(self, app: Any) -> str:
        server = BackgroundServer(app)
        self._servers.append(server)
        return server.start()

    def _copy_log(self) -> None:
        """Keep the bot's output in bot.log; echo it to stderr with --verbose."""
        assert self.process is not None and self.process.stdout is not None
        with self.log_path.open("wb") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if self.verbose:
                    try:
                        sys.stderr.write("bot log | " + line.decode(errors="replace"))
                        sys.stderr.flush()
                    except (OSError, ValueError):
                        pass

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                self.check_alive()
                try:
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise BotFailed(f"the bot did not answer /healthz within {timeout:.0f} s")


# ---------------------------------------------------------------------- the approval page


class PageReader(html.parser.HTMLParser):
    """The stand-in's approval page: its forms (action, fields, button) and what it says."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.title = ""
        self.paragraphs: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "fields": {}, "button": ""})
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")
        elif tag in ("h1", "p", "button"):
            self._in = tag
            if tag == "p":
                self.paragraphs.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.title += data
        elif self._in == "p" and self.paragraphs:
            self.paragraphs[-1] += data
        elif self._in == "button" and self.forms:
            self.forms[-1]["button"] += data.strip()


def read_page(text: str) -> PageReader:
    reader = PageReader()
    reader.feed(text)
    return reader


def press(http: httpx.Client, page_url: str, button: str) -> PageReader:
    """Open the page and submit the form of the button labelled `button`, as a browser would."""
    page = http.get(page_url)
    form = next((f for f in read_page(page.text).forms if f["button"] == button), None)
    if form is None:
        raise BotFailed(f"no {button} button on {page_url} (HTTP {page.status_code})")
    answer = http.post(urljoin(page_url, form["action"]), data=form["fields"])
    return read_page(answer.text)


# ---------------------------------------------------------------------- the conversation


@dataclass
class Pairing:
    """A code the bot DMed, with what the Zoom stand-in knows of it."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float  # time.monotonic()
    dm_ts: str
    dm_text: str
    qr_path: Path | None = None

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())


@dataclass
class Sent:
    """A slash command as sent: its response_url and the bot's ack."""

    response_url: str
    status: int
    ack: dict[str, Any]

    @property
    def ack_text(self) -> str:
        return str(self.ack.get("text", ""))


@dataclass
class Feed:
    """What the bot said that has not been shown yet: response_url posts, DMs, edits, files."""

    slack: SlackEmulator
    files_dir: Path
    shown_replies: dict[str, int] = field(default_factory=dict)  # response_url -> posts shown
    shown_dm: dict[str, str] = field(default_factory=dict)  # ts -> version shown
    saved_files: dict[str, Path] = field(default_factory=dict)  # file id -> its copy here

    @property
    def dm(self) -> str:
        return self.slack.dm_channel(USER_ID)

    def watch(self, response_url: str) -> None:
        self.shown_replies[response_url] = 0

    def news(self) -> list[str]:
        return self._replies() + self._dm_messages() + self._files()

    def _replies(self) -> list[str]:
        out = []
        for url, shown in self.shown_replies.items():
            bodies = self.slack.responses_to(url)
            for body in bodies[shown:]:
                out.append(said(reply_label(body), message_lines(body)))
            self.shown_replies[url] = len(bodies)
        return out

    def _dm_messages(self) -> list[str]:
        out = []
        for message in self.slack.messages(self.dm):
            version = json.dumps([message.get("text"), message.get("blocks")], sort_keys=True)
            previous = self.shown_dm.get(message["ts"])
            if previous == version:
                continue
            label = "bot, in your DM:" if previous is None else "bot, edited its DM:"
            out.append(said(label, message_lines(message)))
            self.shown_dm[message["ts"]] = version
        return out

    def _files(self) -> list[str]:
        out = []
        for call in self.slack.calls_to("files.completeUploadExternal"):
            for info in call.response.get("files") or []:
                uploaded = self.slack.files.get(str(info.get("id")))
                if uploaded is None or uploaded.id in self.saved_files:
                    continue
                if uploaded.channel != self.dm:
                    continue
                path = self.files_dir / f"{uploaded.id}-{uploaded.filename}"
                path.write_bytes(uploaded.content)
                self.saved_files[uploaded.id] = path
                line = f"{uploaded.filename} ({uploaded.title}), saved to {path}"
                out.append(said("bot, file in your DM:", [line]))
        return out


class Session:
    """Slack's side of the conversation: sends commands, presses buttons, shows the answers."""

    def __init__(self, rig: Rig, screen: Screen) -> None:
        self.rig = rig
        self.screen = screen
        self.zoom = rig.zoom
        self.slack = rig.slack
        self.http = httpx.Client(timeout=10.0)
        self.feed = Feed(rig.slack, rig.workdir)
        self.verifier = SignatureVerifier(rig.signing_secret)

    def close(self) -> None:
        self.http.close()

    def command(self, text: str) -> Sent:
        """Send `/zoom text` exactly as Slack would (signed form body) and show the ack."""
        response_url = self.slack.new_response_url()
        self.feed.watch(response_url)
        body = urlencode(self._payload(text, response_url))
        timestamp = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=timestamp, body=body) or ""
        response = self.http.post(
            f"{self.rig.url}/slack/events",
            content=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            },
        )
        ack = self._ack_of(response)
        if response.status_code != 200:
            self.screen.say(f"bot answered HTTP {response.status_code}: {response.text[:200]}")
        elif ack.get("text") or ack.get("blocks"):
            self.screen.say(said(reply_label(ack), message_lines(ack)))
        return Sent(response_url, response.status_code, ack)

    def pump(self) -> None:
        """Show whatever the bot has said since the last look."""
        for text in self.feed.news():
            self.screen.say(text)

    def wait(self, predicate: Callable[[], T], timeout: float) -> T | None:
        """Show the bot's messages while waiting for `predicate`; None when time ran out."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value or None
            self.rig.check_alive()
            time.sleep(0.1)

    def pairing(self) -> Pairing | None:
        """The newest code message in the DM, completed with what the Zoom stand-in knows."""
        for message in reversed(self.slack.messages(self.feed.dm)):
            url = code_link(message)
            if url:
                return self._pairing_for(url, message)
        return None

    def pair(self, timeout: float) -> Pairing | None:
        """`/zoom pair`, then wait for the new code's DM and QR code and summarise them."""
        before = self.pairing()
        if self.command("pair").status != 200:
            return None

        def new_code() -> Pairing | None:
            found = self.pairing()
            return None if found is None or (before and found.dm_ts == before.dm_ts) else found

        def with_qr() -> Pairing | None:
            found = new_code()
            return found if found is not None and found.qr_path else None

        found = self.wait(with_qr, timeout) or new_code()  # a failed QR upload is no failure
        if found is not None:
            self.screen.say(summary(found))
        return found

    def pending(self) -> Pairing | None:
        """The newest code, if the Zoom stand-in still waits for someone to answer it."""
        found = self.pairing()
        if found is None or self.zoom.grant(found.user_code).state != "pending":
            return None
        return found

    def answer(self, pairing: Pairing, button: str) -> PageReader:
        """Press Approve or Deny on the stand-in's approval page of that code."""
        page = press(self.http, pairing.verification_uri_complete, button)
        lines = [page.title, *page.paragraphs[-1:]]
        self.screen.say(said(f"Zoom stand-in page, after pressing {button}:", lines))
        return page

    def dm_changed(self, pairing: Pairing) -> str:
        """The code message's new text once the bot edited it (paired, denied, expired)."""
        message = self.slack.message(self.feed.dm, pairing.dm_ts)
        text = str(message.get("text", "")) if message else "(deleted)"
        return text if text != pairing.dm_text else ""

    def _pairing_for(self, url: str, message: Mapping[str, Any]) -> Pairing | None:
        for request in reversed(self.zoom.requests_to("/oauth/devicecode")):
            answer = request.response
            if isinstance(answer, dict) and answer.get("verification_uri_complete") == url:
                grant = self.zoom.grant(answer["user_code"])
                return Pairing(
                    user_code=answer["user_code"],
                    verification_uri=answer["verification_uri"],
                    verification_uri_complete=url,
                    expires_at=grant.created + grant.expires_in,
                    dm_ts=str(message["ts"]),
                    dm_text=str(message.get("text", "")),
                    qr_path=self._newest_qr(),
                )
        return None

    def _newest_qr(self) -> Path | None:
        """The copy of the last QR code uploaded to the DM (the bot deletes older ones)."""
        live = []
        for file_id, path in self.feed.saved_files.items():
            uploaded = self.slack.files.get(file_id)
            if uploaded is not None and not uploaded.deleted and path.name.endswith(QR_FILENAME):
                live.append(path)
        return live[-1] if live else None

    @staticmethod
    def _ack_of(response: httpx.Response) -> dict[str, Any]:
        try:
            ack = response.json() if response.content else {}
        except ValueError:
            return {"text": response.text}
        return ack if isinstance(ack, dict) else {}

    def _payload(self, text: str, response_url: str) -> dict[str, str]:
        return {
            "token": "demo-verification-token",
            "team_id": self.slack.team_id,
            "team_domain": "demo",
            "channel_id": CHANNEL_ID,
            "channel_name": CHANNEL_NAME,
            "user_id": USER_ID,
            "user_name": "you",
            "command": "/zoom",
            "text": text,
            "api_app_id": self.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.demo",
        }


def code_link(message: Mapping[str, Any]) -> str:
    """The URL of a code message's 'Approve in Zoom' button (verification_uri_complete)."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == OPEN_LINK_ACTION:
                return str(element.get("url") or "")
    return ""


def clock(seconds: float) -> str:
    whole = int(seconds + 0.999)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def summary(pairing: Pairing) -> str:
    expiry = local_time(int(time.time() + pairing.remaining()))
    qr = str(pairing.qr_path) if pairing.qr_path else "(not uploaded)"
    return "\n".join(
        [
            "",
            f"Pairing code:  {pairing.user_code}",
            f"Link:          {pairing.verification_uri}  (type the code there)",
            f"Expires:       {expiry}  (in {clock(pairing.remaining())})",
            f"QR code:       {qr}",
            f"Approval page: {pairing.verification_uri_complete}",
            "               the Zoom stand-in's page with Approve and Deny buttons: open it",
            "               in a browser, or type `approve` (or `deny`) here to answer as",
            f"               {DEMO_EMAIL} would.",
            "",
        ]
    )


# ---------------------------------------------------------------------- interactive


class Chat:
    """The interactive demo: reads lines, sends them, shows answers and a pairing countdown."""

    def __init__(self, session: Session, lines: queue.Queue[str | None], interval: int) -> None:
        self.session = session
        self.screen = session.screen
        self.lines = lines
        self.interval = interval
        self.waiting: Pairing | None = None  # the code being counted down
        self._last_status = 0.0

    def run(self) -> bool:
        """Chat until quit or end of input (True), or until the bot dies (BotFailed)."""
        while True:
            self.session.rig.check_alive()
            self.session.pump()
            self._tick()
            try:
                line = self.lines.get(timeout=0.25)
            except queue.Empty:
                continue
            self.screen.entered()
            try:
                going_on = line is not None and self.handle(line)
            except httpx.HTTPError as exc:
                self.screen.say(f"(no answer: {type(exc).__name__}: {exc})")
                going_on = True
            if not going_on:
                self.screen.say("bye")
                return True

    def handle(self, line: str) -> bool:
        """Act on one typed line; False to stop."""
        words = line.split()
        if not self.screen.tty and words:
            self.screen.say(f"you> {line}")
        self.waiting = None  # typing ends the countdown
        if not words:
            return True
        first = words[0].lower()
        if first in QUIT_WORDS:
            return False
        if first in ("approve", "deny"):
            self._answer(first.capitalize())
        elif first in ("help", "?"):
            self.screen.say(DEMO_HELP)
        elif first == "/zoom":
            self._command(line.strip()[len("/zoom") :].strip())
        elif first in BOT_SUBCOMMANDS:
            self._command(line.strip())
        elif first.startswith("/"):
            self.screen.say(f"Only /zoom is installed in this demo workspace, not {first}.")
        else:
            self.screen.say("Type /zoom help for the bot's commands, help for the demo's.")
        return True

    def _command(self, text: str) -> None:
        if text.strip().lower() == "pair":
            self.waiting = self.session.pair(timeout=10.0)
            self._last_status = time.monotonic()
        else:
            self.session.command(text)

    def _answer(self, button: str) -> None:
        found = self.session.pending()
        if found is None:
            self.screen.say("No code is waiting for an answer: type /zoom pair first.")
            return
        self.session.answer(found, button)
        self.screen.say(f"(the bot asks Zoom every {self.interval} s; its DM changes shortly)")
        self.session.wait(lambda: self.session.dm_changed(found), 3 * self.interval + 5)

    def _tick(self) -> None:
        """Redraw the countdown, or the prompt when nothing is being counted down."""
        pairing = self.waiting
        if pairing is not None and (self.session.dm_changed(pairing) or not pairing.remaining()):
            self.waiting = pairing = None
        if pairing is None:
            if self.screen.live is None:
                self.screen.show("you> ")
            return
        left = clock(pairing.remaining())
        if self.screen.tty:
            self.screen.show(
                f"[code {pairing.user_code} expires in {left}] approve, deny or /zoom> "
            )
        elif time.monotonic() - self._last_status >= STATUS_EVERY:
            self._last_status = time.monotonic()
            self.screen.say(f"waiting for approval of {pairing.user_code}: {left} left")


# ---------------------------------------------------------------------- scripted


class Script:
    """The whole conversation unattended, each step checked; stops at the first failure."""

    TITLES = (
        "/zoom pair: the bot DMs a code, a link and a QR code",
        "press Approve on the Zoom stand-in's approval page",
        f"the DM changes to 'Paired with Zoom as {DEMO_EMAIL}'",
        "/zoom meet standup: join link to the channel, start link to you only",
        "/zoom status: shows the linked account",
        "/zoom help: lists the commands",
        "/zoom unpair: unlinks and revokes",
        "/zoom status: nothing linked any more",
    )

    def __init__(self, session: Session, deadline: float) -> None:
        self.session = session
        self.screen = session.screen
        self.deadline = deadline
        self.pairing: Pairing | None = None

    def steps(self) -> list[tuple[str, Callable[[], str | None]]]:
        checks = (
            self.pair,
            self.approve,
            self.paired,
            self.meet,
            self.status_paired,
            self.help,
            self.unpair,
            self.status_unpaired,
        )
        return list(zip(self.TITLES, checks, strict=True))

    def run(self, first: int, total: int) -> bool:
        for number, (title, check) in enumerate(self.steps(), first):
            self.screen.say(f"\n[{number}/{total}] {title}")
            try:
                problem = check()
            except (httpx.HTTPError, BotFailed, OSError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                self.screen.say(f"[{number}/{total}] FAIL: {title}: {problem}")
                return False
            self.screen.say(f"[{number}/{total}] ok: {title}")
        return True

    def left(self, wanted: float) -> float:
        return max(0.0, min(wanted, self.deadline - time.monotonic()))

    def send(self, text: str) -> Sent:
        self.screen.say(f"you> /zoom {text}")
        return self.session.command(text)

    def pair(self) -> str | None:
        self.screen.say("you> /zoom pair")
        self.pairing = self.session.pair(timeout=self.left(10.0))
        if self.pairing is None:
            return "no code message with a QR code arrived in the DM"
        if self.pairing.qr_path is None or not self.pairing.qr_path.read_bytes().startswith(
            b"\x89PNG"
        ):
            return "the QR code is not a PNG"
        return None

    def approve(self) -> str | None:
        pending = self.session.pending()
        if self.pairing is None or pending is None or pending.user_code != self.pairing.user_code:
            return "the code is not waiting for an answer"
        page = self.session.answer(self.pairing, "Approve")
        return None if page.title == "Device approved" else f"the page said {page.title!r}"

    def paired(self) -> str | None:
        assert self.pairing is not None
        pairing = self.pairing
        text = self.session.wait(lambda: self.session.dm_changed(pairing), self.left(20.0))
        if not text:
            return "the DM did not change in the time left"
        return None if f"Paired with Zoom as {DEMO_EMAIL}" in text else f"the DM says {text!r}"

    def meet(self) -> str | None:
        sent = self.send("meet standup")
        posts = self.session.wait(
            lambda: len(r := self.session.slack.responses_to(sent.response_url)) >= 2 and r,
            self.left(10.0),
        )
        if not posts:
            return "the bot did not post the meeting"
        channel = [p for p in posts if p.get("response_type") == "in_channel"]
        private = [p for p in posts if p.get("response_type") != "in_channel"]
        meeting = self.session.zoom.meetings[-1] if self.session.zoom.meetings else {}
        join, start = meeting.get("join_url", "?"), f"{self.session.zoom.base_url}/s/"
        if not channel or join not in json.dumps(channel) or "standup" not in json.dumps(channel):
            return "the channel post lacks the join link or the topic"
        if start in json.dumps(channel):
            return "the start link leaked into the channel"
        if not any(start in link and "zak=" in link for link in button_urls(private)):
            return "the private answer has no start link with a zak"
        return None

    def status_paired(self) -> str | None:
        sent = self.send("status")
        return None if DEMO_EMAIL in sent.ack_text else f"status said {sent.ack_text!r}"

    def help(self) -> str | None:
        sent = self.send("help")
        ok = all(c in sent.ack_text for c in ("/zoom meet", "/zoom pair", "/zoom unpair"))
        return None if ok else f"help said {sent.ack_text!r}"

    def unpair(self) -> str | None:
        sent = self.send("unpair")
        posts = self.session.wait(
            lambda: self.session.slack.responses_to(sent.response_url), self.left(10.0)
        )
        text = posts[-1].get("text", "") if posts else ""
        ok = "Unpaired" in text and "revoked at Zoom" in text
        return None if ok else f"unpair said {text!r}"

    def status_unpaired(self) -> str | None:
        sent = self.send("status")
        ok = "no Zoom account linked" in sent.ack_text
        return None if ok else f"status said {sent.ack_text!r}"


def button_urls(messages: list[dict[str, Any]]) -> list[str]:
    """Every button URL in the messages' blocks, accessories included."""
    found = re.findall(r'"url": "([^"]+)"', json.dumps(messages))
    return [str(url) for url in found]


# ---------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot demo",
        description="Try the bot in this terminal against local Slack and Zoom stand-ins.",
    )
    parser.add_argument(
        "--script", action="store_true", help="play a whole conversation unattended and check it"
    )
    parser.add_argument("--verbose", action="store_true", help="show the bot's log as it runs")
    parser.add_argument(
        "--budget",
        type=float,
        default=SCRIPT_BUDGET,
        help=f"with --script: give up after this many seconds ({SCRIPT_BUDGET:.0f})",
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=POLL_INTERVAL,
        help=f"seconds the Zoom stand-in makes the bot wait between polls ({POLL_INTERVAL})",
    )
    args = parser.parse_args(argv)
    if args.interval < 1:
        parser.error("--interval must be at least 1 second")
    if args.budget <= 0:
        parser.error("--budget must be positive")
    return args


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the bot and the stand-ins are always stopped."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: list[str]) -> int:
    """Run the demo; exit status 0 when it ended normally (for --script: every step ok)."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # emoji on a terminal that cannot show them
    stop_on_sigterm()
    screen = Screen(sys.stdout, tty=sys.stdout.isatty() and not args.script)
    with tempfile.TemporaryDirectory(prefix="zoombot-demo-") as tmp:
        rig = Rig(Path(tmp), interval=args.interval, verbose=args.verbose)
        try:
            ok = run(rig, screen, args)
        except KeyboardInterrupt:
            screen.say("\ninterrupted")
            return 130
        finally:
            rig.stop()
        if not ok and not args.verbose:
            print(f"--- the bot's log (last lines) ---\n{rig.log_tail()}", file=sys.stderr)
    return 0 if ok else 1


def run(rig: Rig, screen: Screen, args: argparse.Namespace) -> bool:
    """Start everything, then chat or play the script; True when it ended well."""
    started = time.monotonic()
    total = 1 + len(Script.TITLES)
    title = "start the Zoom and Slack stand-ins and the bot"
    if args.script:
        screen.say(f"[1/{total}] {title}")
    try:
        rig.start(timeout=min(START_TIMEOUT, args.budget) if args.script else START_TIMEOUT)
    except BotFailed as exc:
        screen.say(f"[1/{total}] FAIL: {title}: {exc}" if args.script else f"FAIL: {exc}")
        return False
    if args.script:
        screen.say(f"[1/{total}] ok: {title} ({time.monotonic() - started:.1f} s)")
    session = Session(rig, screen)
    try:
        if not args.script:
            screen.say(
                INTRO.format(
                    zoom=rig.zoom.base_url, slack=rig.slack.base_url, bot=rig.url, email=DEMO_EMAIL
                )
            )
            return Chat(session, stdin_lines(sys.stdin), args.interval).run()
        passed = Script(session, started + args.budget).run(2, total)
        took = time.monotonic() - started
        verdict = f"all {total} steps ok" if passed else "FAILED"
        screen.say(f"\ndemo script: {verdict} ({took:.1f} s)")
        return passed
    finally:
        session.close()

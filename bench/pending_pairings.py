"""Benchmark: one bot process keeping N pending pairings polling Zoom on time under Slack load.

The target (developers' guide): one bot process keeps 10,000 pending pairings polling on time
and still answers every slash command far inside Slack's 3 seconds. See bench/README.md.

What runs where:

* the Zoom stand-in (``bot.emulator.zoom.ZoomEmulator``) in a child process of its own, so
  it does not share a GIL with the load generator (``--zoom-in thread`` puts it in this one);
* the Slack stand-in on a thread of this process (it only sees the few ``/zoom pair`` DMs);
* the bot as ``python -m bot``, exactly as deployed, against both.

How the flows are made: N real device codes are requested from the stand-in's
``/oauth/devicecode`` (so the stand-in knows them and enforces their interval), written to the
bot's SQLite file with ``bot.store.Store`` as pending flows, and the bot resumes them all at
start-up (``PairingService.resume_all``). That costs seconds for 10,000 flows where 10,000
``/zoom pair`` commands would cost minutes and would measure the DM and QR code path instead.

Then for ``--seconds`` the benchmark sends signed ``/zoom help`` (and every ``--pair-every``-th
a ``/zoom pair``) at ``--rate`` per second and times each HTTP ack, while the stand-in records
every poll. Afterwards it reads that record and reports polling punctuality, slow_down answers,
ack latency, polls/s, CPU and RSS, and exits 1 when a target is missed (2 when the run broke).

    .venv/bin/python bench/pending_pairings.py --flows 1000 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import logging
import multiprocessing
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.config import Settings
from bot.emulator.background import BackgroundServer
from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import DEVICE_GRANT_TYPE, ZoomEmulator
from bot.pairing import new_flow
from bot.store import Store, UserKey
from bot.zoom.device_flow import DeviceAuthorization, parse_device_authorization

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

CLIENT_ID = "bench-zoom-client-id"
CLIENT_SECRET = "bench-zoom-client-secret"  # a fake app's fake secret
SIGNING_SECRET = "bench-signing-secret"
TEAM_ID = "T0BENCH"

# Targets (bench/README.md): the run fails when any is missed.
TARGET_ACK_P99 = 1.0  # seconds, HTTP ack of a slash command (Slack gives up at 3 s)
TARGET_LATENESS_P99 = 1.0  # seconds a poll comes after the interval in force
SLACK_ACK_LIMIT = 3.0

#: The bot spreads every poll by up to this fraction of the interval (bot.pairing.POLL_JITTER);
#: only used to pick the start of the steady-state window, never to excuse lateness.
BOT_JITTER = 0.05
#: Same tolerance the stand-in uses before it answers slow_down (POLL_TOLERANCE).
EARLY_TOLERANCE = 0.01
SLOW_DOWN_STEP = 5
CALIBRATION_GRANTS = 200  # one keep-alive connection each, as many as the bot opens
DEFAULT_BOT_COMMAND = [sys.executable, "-m", "bot", "--host", "127.0.0.1"]


# --------------------------------------------------------------------------- small helpers


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def distribution(values: Iterable[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else float("nan"),
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, name: str = "VmRSS") -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS: resident set now, VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


class BenchTimeout(Exception):
    """The whole run exceeded --max-wall."""


# --------------------------------------------------------------------------- Zoom stand-in


def _dump_record(emulator: ZoomEmulator, path: Path) -> int:
    """Write the stand-in's OAuth record as JSON lines; returns how many requests."""
    count = 0
    with path.open("w") as out:
        for endpoint in ("/oauth/devicecode", "/oauth/token"):
            for r in emulator.requests_to(endpoint):
                answer = r.response if isinstance(r.response, dict) else {}
                row = {
                    "path": r.path,
                    "t": r.time,
                    "end": r.end_time,
                    "status": r.status,
                    "code": r.user_code,
                    "grant": r.grant_type,
                    "error": answer.get("error"),
                    "interval": answer.get("interval") if endpoint == "/oauth/devicecode" else None,
                }
                out.write(json.dumps(row) + "\n")
                count += 1
    return count


def _log_server_errors(path: Path) -> None:
    """Send the stand-in's uvicorn errors (clients cut off at shutdown) to a file."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False


def _zoom_child(conn: Connection, interval: int, expires_in: int, log_path: str) -> None:
    """The stand-in's own process: serve, then answer 'dump' and 'stop' from the parent."""
    emulator = ZoomEmulator(CLIENT_ID, CLIENT_SECRET, interval=interval, expires_in=expires_in)
    server = BackgroundServer(emulator.app)
    _log_server_errors(Path(log_path))
    emulator.base_url = server.start()
    conn.send(emulator.base_url)
    try:
        while True:
            command, argument = conn.recv()
            if command == "dump":
                conn.send(_dump_record(emulator, Path(argument)))
            elif command == "stop":
                break
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        server.stop(timeout=5)


class ZoomStandIn:
    """The Zoom stand-in in a child process ('process') or on a thread of this one ('thread')."""

    def __init__(self, where: str, interval: int, expires_in: int, log_path: Path) -> None:
        self.where = where
        self.log_path = log_path
        self.interval = interval
        self.expires_in = expires_in
        self.url = ""
        self._process: Any = None
        self._conn: Connection | None = None
        self._emulator: ZoomEmulator | None = None
        self._server: BackgroundServer | None = None

    @property
    def pid(self) -> int:
        return int(self._process.pid) if self._process is not None else os.getpid()

    def start(self, timeout: float = 30.0) -> str:
        if self.where == "thread":
            self._emulator = ZoomEmulator(
                CLIENT_ID, CLIENT_SECRET, interval=self.interval, expires_in=self.expires_in
            )
            self._server = BackgroundServer(self._emulator.app)
            _log_server_errors(self.log_path)
            self.url = self._emulator.base_url = self._server.start(timeout)
            return self.url
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._process = ctx.Process(
            target=_zoom_child,
            args=(child_conn, self.interval, self.expires_in, str(self.log_path)),
            name="zoom-stand-in",
            daemon=True,
        )
        self._process.start()
        if not self._conn.poll(timeout):
            raise RuntimeError("the Zoom stand-in process did not start")
        self.url = self._conn.recv()
        return self.url

    def dump(self, path: Path, timeout: float = 120.0) -> int:
        if self._emulator is not None:
            return _dump_record(self._emulator, path)
        assert self._conn is not None
        self._conn.send(("dump", str(path)))
        if not self._conn.poll(timeout):
            raise RuntimeError("the Zoom stand-in did not write its record in time")
        return int(self._conn.recv())

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=5)
        if self._process is not None:
            try:
                if self._conn is not None:
                    self._conn.send(("stop", None))
            except (BrokenPipeError, OSError):
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)


async def fetch_device_codes(
    url: str, count: int, *, concurrency: int = 8, timeout: float = 600.0
) -> list[DeviceAuthorization]:
    """Ask the stand-in's /oauth/devicecode `count` times, as the bot itself would."""
    results: list[DeviceAuthorization] = []
    todo = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency)
    auth = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)

    async with httpx.AsyncClient(timeout=10.0, limits=limits, auth=auth) as client:

        async def worker() -> None:
            for _ in todo:
                response = await client.post(
                    f"{url}/oauth/devicecode",
                    params={"client_id": CLIENT_ID},
                    data={"client_id": CLIENT_ID},
                )
                response.raise_for_status()
                results.append(parse_device_authorization(response.json(), time.time()))

        async with asyncio.timeout(timeout):
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def calibrate_zoom(
    url: str, codes: Sequence[str], seconds: float, zoom_pid: int
) -> dict[str, float]:
    """How many device-code polls per second the stand-in answers, driven by a raw client.

    httpx costs more CPU per request than the stand-in does, so a cheap hand-written HTTP/1.1
    client on keep-alive connections drives it instead; if the stand-in's CPU is then near
    100 % of a core, the rate measured is its capacity. The calibration grants are excluded
    from the punctuality analysis (they are polled far too fast on purpose).
    """
    host, port = url.removeprefix("http://").split(":")
    requests = []
    for code in codes:
        body = urlencode({"grant_type": DEVICE_GRANT_TYPE, "device_code": code}).encode()
        head = (  # the headers httpx sends, so the stand-in parses as much as from the bot
            f"POST /oauth/token HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
            f"User-Agent: python-httpx/{httpx.__version__}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Authorization: {basic_auth()}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    until = time.monotonic() + seconds

    async def connection(request: bytes) -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        done = 0
        try:
            while time.monotonic() < until:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"(?i)content-length:\s*(\d+)", head)
                await reader.readexactly(int(match.group(1)) if match else 0)
                done += 1
        finally:
            writer.close()
        return done

    zoom_cpu, own_cpu, started = cpu_seconds(zoom_pid), time.process_time(), time.monotonic()
    async with asyncio.timeout(seconds + 30):
        counts = await asyncio.gather(*(connection(r) for r in requests))
    elapsed = time.monotonic() - started
    return {
        "connections": len(requests),
        "seconds": elapsed,
        "requests_per_s": sum(counts) / elapsed,
        "zoom_cpu_pct": 100 * (cpu_seconds(zoom_pid) - zoom_cpu) / elapsed,
        "zoom_cpu_us_per_request": 1e6 * (cpu_seconds(zoom_pid) - zoom_cpu) / max(1, sum(counts)),
        "client_cpu_pct": 100 * (time.process_time() - own_cpu) / elapsed,
    }


# --------------------------------------------------------------------------- the bot


def open_store(env: dict[str, str]) -> Store:
    """The bot's store, opened from the same settings (and so the same key) the bot gets."""
    settings = Settings.from_env(env)
    return Store(settings.db_path, settings.secret_box())


def seed_store(env: dict[str, str], authorizations: Sequence[DeviceAuthorization]) -> None:
    """N pending flows, one per fake Slack user, written the way the bot writes them."""
    store = open_store(env)
    try:
        with store.db.atomic():
            for index, a in enumerate(authorizations):
                store.save_flow(new_flow(UserKey(team_id=TEAM_ID, user_id=f"UBENCH{index:06d}"), a))
        assert store.count_flows() == len(authorizations)
    finally:
        store.close()


class BotProcess:
    """`python -m bot` against the stand-ins, its log in the work directory."""

    def __init__(
        self, workdir: Path, zoom_url: str, slack: SlackEmulator, command: list[str]
    ) -> None:
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "bot.log"
        self.workdir = workdir
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(workdir)),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_OAUTH_URL": zoom_url,
            "ZOOM_API_URL": f"{zoom_url}/v2",
            "ZOOMBOT_DB": str(workdir / "zoombot.db"),
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.stop_seconds: float | None = None
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float) -> float:
        """Start and wait for /healthz; returns how long start-up (and resume_all) took."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = started + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(f"the bot exited at start-up; see {self.log_path}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"the bot was not healthy within {timeout:.0f} s; see {self.log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful, as a deploy would), SIGKILL after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.stop_seconds = time.monotonic() - started
        self.exit_code = self.process.returncode


# --------------------------------------------------------------------------- the load


@dataclass
class CommandSample:
    kind: str
    sent_at: float
    latency: float
    status: int
    ok: bool
    error: str = ""


@dataclass
class UsageSample:
    t: float
    bot_cpu: float
    bot_rss_kib: int
    zoom_cpu: float


@dataclass
class LoadResult:
    start: float = 0.0
    end: float = 0.0
    commands: list[CommandSample] = field(default_factory=list)
    usage: list[UsageSample] = field(default_factory=list)


async def send_command(
    client: httpx.AsyncClient, bot: BotProcess, slack: SlackEmulator, kind: str, user_id: str
) -> CommandSample:
    payload = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "bench",
        "channel_id": "C0BENCH",
        "channel_name": "bench",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/zoom",
        "text": kind,
        "api_app_id": "A0BENCH",
        "is_enterprise_install": "false",
        "response_url": slack.new_response_url(),
        "trigger_id": "1.2.3",
    }
    body = urlencode(payload)
    timestamp = str(int(time.time()))
    signature = (
        SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body) or ""
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    sent_at = time.monotonic()
    try:
        response = await client.post(f"{bot.url}/slack/events", content=body, headers=headers)
    except httpx.HTTPError as exc:
        return CommandSample(kind, sent_at, time.monotonic() - sent_at, 0, False, repr(exc))
    latency = time.monotonic() - sent_at
    try:
        text = response.json().get("text", "") if response.content else ""
    except ValueError:
        text = ""
    ok = response.status_code == 200 and bool(text)
    return CommandSample(kind, sent_at, latency, response.status_code, ok, "" if ok else "no ack")


async def drive(
    bot: BotProcess,
    slack: SlackEmulator,
    zoom_pid: int,
    *,
    seconds: float,
    rate: float,
    pair_every: int,
    ack_timeout: float,
) -> LoadResult:
    """Open-loop slash commands at `rate`/s for `seconds`, sampling CPU and RSS each second."""
    start = time.monotonic()
    end = start + seconds
    result = LoadResult(start=start, end=end)

    async def sample_usage() -> None:
        while True:
            try:
                result.usage.append(
                    UsageSample(
                        time.monotonic(),
                        cpu_seconds(bot.pid),
                        status_kib(bot.pid),
                        cpu_seconds(zoom_pid),
                    )
                )
            except (FileNotFoundError, ProcessLookupError):
                return
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample_usage())
    tasks: list[asyncio.Task[CommandSample]] = []
    async with httpx.AsyncClient(timeout=ack_timeout) as client:
        index = 0
        while True:
            at = start + index / rate
            if at >= end:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            pair = pair_every > 0 and index % pair_every == pair_every - 1
            kind, user = ("pair", f"UPAIR{index:06d}") if pair else ("help", "UHELPER")
            tasks.append(asyncio.create_task(send_command(client, bot, slack, kind, user)))
            index += 1
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        result.commands = list(await asyncio.gather(*tasks))
    sampler.cancel()
    return result


def start_profiler(pid: int, seconds: float, workdir: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (if installed) sampling the bot for the run, as collapsed stacks."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("  py-spy not found: pip install py-spy to profile the bot", file=sys.stderr)
        return None
    out = workdir / "bot-profile.txt"
    return subprocess.Popen(
        [
            exe,
            *("record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100"),
            *("--format", "raw", "--nonblocking", "--output", str(out)),
        ],
        stdout=(workdir / "py-spy.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def _package_of(frame: str) -> str:
    """`connect (httpcore/_async/connection.py)` -> `httpcore`; stdlib modules by file name."""
    where = re.search(r"\(([^)]*)\)$", frame)
    if where is None or not where.group(1):
        return "(native or idle)"
    path = where.group(1)
    if path.startswith("<frozen"):
        return "importlib"
    return path.split("/")[0].removesuffix(".py")


def summarize_profile(path: Path, seconds: float, top: int = 25) -> dict[str, Any]:
    """Inclusive share of busy samples per function, from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    package: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        leaf[frames[-1]] += n
        package[_package_of(frames[-1])] += n
    return {
        "busy_samples": total,
        "busy_pct_of_wall": 100 * total / max(1.0, seconds * 100),
        "inclusive": [
            (name, round(100 * n / max(1, total), 1)) for name, n in inclusive.most_common(top)
        ],
        "self_by_package": [
            (name, round(100 * n / max(1, total), 1)) for name, n in package.most_common(12)
        ],
        "self": [(name, round(100 * n / max(1, total), 1)) for name, n in leaf.most_common(top)],
    }


# --------------------------------------------------------------------------- analysis


def analyse_polls(
    record_path: Path,
    *,
    ready: float,
    end: float,
    seeded: set[str],
    excluded: set[str],
    interval: int,
    cpu_window: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """Punctuality from the stand-in's record, judged exactly as the stand-in judges it.

    For each flow, each poll's gap to the previous request of that flow (the previous poll, or
    the devicecode request for flows started by /zoom pair during the run) is compared with the
    interval in force, which every slow_down answer raised by 5 s. Seeded flows' first polls
    have no Zoom-visible predecessor in the run; their delay after the bot became ready is
    reported apart. A flow whose last poll (or the ready time) lies more than one interval
    before the end of the load window is overdue; that open gap is counted as a late poll (a
    lower bound of its lateness), so a starved flow cannot hide.
    """
    started: dict[str, tuple[float, int]] = {}
    polls: defaultdict[str, list[tuple[float, str | None, float]]] = defaultdict(list)
    answers: Counter[str] = Counter()
    served_in_cpu_window = 0
    with record_path.open() as lines:
        for line in lines:
            r = json.loads(line)
            code = r["code"]
            served_in_cpu_window += cpu_window[0] <= r["t"] <= cpu_window[1]
            if code in excluded:
                continue
            if r["path"] == "/oauth/devicecode" and code:
                started[code] = (r["t"], int(r["interval"] or 5))
            elif r["grant"] == DEVICE_GRANT_TYPE and code and ready - 1 <= r["t"] <= end:
                polls[code].append((r["t"], r["error"], r["end"] - r["t"]))
                answers[r["error"] or f"http_{r['status']}"] += 1

    early, slow_downs = 0, 0
    lateness: list[float] = []
    first_delay: list[float] = []
    overdue: list[float] = []
    service: list[float] = []
    flows = set(polls) | seeded | {c for c, (t, _) in started.items() if t >= ready - 1}
    for code in flows:
        t0, force = started.get(code, (float("-inf"), interval))
        previous = t0 if code not in seeded and t0 >= ready - 1 else None
        ended = False
        for t, error, took in sorted(polls.get(code, [])):
            service.append(took)
            if previous is None:
                first_delay.append(t - ready)
            else:
                gap = t - previous
                if gap < force - EARLY_TOLERANCE:
                    early += 1
                lateness.append(gap - force)
            if error == "slow_down":
                slow_downs += 1
                force += SLOW_DOWN_STEP
            ended = error not in (None, "slow_down", "authorization_pending")
            previous = t
        if not ended:
            since = previous if previous is not None else ready
            if end - since > force:
                overdue.append(end - since - force)
    # From the second round of polls on: the first round is the start-up burst.
    window_start = ready + 2 * interval * (1 + BOT_JITTER)
    in_window = sum(1 for ps in polls.values() for t, _, _ in ps if t >= window_start)
    window = end - window_start  # empty when the run is shorter than two intervals
    total_polls = sum(len(ps) for ps in polls.values())
    per_5s: Counter[int] = Counter(
        int((t - ready) // 5) for ps in polls.values() for t, _, _ in ps if t >= ready
    )
    return {
        "flows": len(flows),
        "flows_polled": len(polls),
        "polls": total_polls,
        "answers": dict(answers.most_common()),
        "early_polls": early,
        "slow_down_answers": slow_downs,
        "lateness_s": distribution(lateness + overdue),
        "lateness_completed_gaps_s": distribution(lateness),
        "overdue_flows_at_end": len(overdue),
        "overdue_s": distribution(overdue),
        "first_poll_after_ready_s": distribution(first_delay),
        "stand_in_service_s": distribution(service),
        "steady_window_s": [window_start - ready, end - ready],
        "polls_per_s_steady": in_window / window if window > 0 else float("nan"),
        "stand_in_requests_in_cpu_window": served_in_cpu_window,
        "polls_per_5s_bucket": [per_5s.get(i, 0) for i in range(int((end - ready) // 5) + 1)],
    }


def log_summary(path: Path, shutdown_offset: int) -> dict[str, Any]:
    """Counts of the bot's `event=` log lines and of WARNING/ERROR lines by logger.

    What the bot wrote after `shutdown_offset` (the log's size when the benchmark sent
    SIGTERM) counts apart, as shutdown noise.
    """
    text = path.read_bytes()
    result: dict[str, Any] = {}
    for phase, part in (("run", text[:shutdown_offset]), ("shutdown", text[shutdown_offset:])):
        events: Counter[str] = Counter()
        warnings: Counter[str] = Counter()
        for line in part.decode(errors="replace").splitlines():
            if match := re.search(r"\bevent=(\S+)", line):
                events[match.group(1)] += 1
            if match := re.search(r"level=(WARNING|ERROR|CRITICAL) logger=(\S+)", line):
                warnings[f"{match.group(1)} {match.group(2)}"] += 1
            if line.startswith("Traceback"):
                warnings["traceback"] += 1
        result[phase] = {"events": dict(events), "warnings": dict(warnings)}
    return result


def git_state() -> str:
    """The commit measured, with `+dirty` when the work tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def usage_summary(usage: Sequence[UsageSample]) -> dict[str, float]:
    if len(usage) < 2:
        return {}
    first, last = usage[0], usage[-1]
    elapsed = last.t - first.t
    bot_pct = [100 * (b.bot_cpu - a.bot_cpu) / (b.t - a.t) for a, b in itertools.pairwise(usage)]
    return {
        "bot_cpu_pct_mean": 100 * (last.bot_cpu - first.bot_cpu) / elapsed,
        "bot_cpu_pct_max_1s": max(bot_pct),
        "zoom_cpu_pct_mean": 100 * (last.zoom_cpu - first.zoom_cpu) / elapsed,
        "bot_rss_mib_max_sampled": max(u.bot_rss_kib for u in usage) / 1024,
        "sampled_seconds": elapsed,
    }


# --------------------------------------------------------------------------- report


def fmt(value: float, unit: str = "s") -> str:
    if value != value:  # nan
        return "-"
    return f"{value * 1000:.0f} ms" if unit == "s" and abs(value) < 10 else f"{value:.2f} {unit}"


def fmt_dist(d: dict[str, float]) -> str:
    return (
        f"p50 {fmt(d['p50'])}  p95 {fmt(d['p95'])}  p99 {fmt(d['p99'])}  max {fmt(d['max'])}"
        f"  (n={d['n']})"
    )


def print_report(summary: dict[str, Any]) -> None:
    p = summary["polls"]
    acks = summary["acks"]
    usage = summary["usage"]
    cal = summary.get("calibration") or {}
    print()
    print(
        f"=== pending pairings: {summary['flows']} flows, {summary['seconds']:.0f} s "
        f"(commit {summary['commit']}, Python {summary['python']}, httpx {summary['httpx']}) ==="
    )
    rows = [
        (
            "setup",
            f"device codes {summary['seed_seconds']:.1f} s, "
            f"bot start-up (resume_all) {summary['startup_seconds']:.1f} s",
        ),
    ]
    if cal:
        rows.append(
            (
                "stand-in capacity",
                f"{cal['requests_per_s']:.0f} polls/s at {cal['zoom_cpu_pct']:.0f} % CPU "
                f"({cal['zoom_cpu_us_per_request']:.0f} us/poll)  => ~"
                f"{cal['requests_per_s'] * summary['interval']:.0f} flows at interval "
                f"{summary['interval']} s",
            )
        )
    rows += [
        (
            "polls/s (steady)",
            f"{p['polls_per_s_steady']:.0f} of ideal "
            f"{summary['flows'] / summary['interval']:.0f} (N/interval)",
        ),
        ("flows polled", f"{p['flows_polled']} of {p['flows']}; polls {p['polls']}"),
        ("answers", ", ".join(f"{k} {v}" for k, v in p["answers"].items()) or "-"),
        ("early polls", str(p["early_polls"])),
        ("slow_down answers", str(p["slow_down_answers"])),
        ("poll lateness", fmt_dist(p["lateness_s"])),
        ("  completed gaps", fmt_dist(p["lateness_completed_gaps_s"])),
        ("  overdue at end", f"{p['overdue_flows_at_end']} flows, " + fmt_dist(p["overdue_s"])),
        ("first poll after ready", fmt_dist(p["first_poll_after_ready_s"])),
        ("ack latency (all)", fmt_dist(acks["all"])),
        ("  /zoom help", fmt_dist(acks["help"])),
        ("  /zoom pair", fmt_dist(acks["pair"])),
        ("  failed / over 3 s", f"{acks['failed']} / {acks['over_slack_limit']}"),
        (
            "bot RSS",
            f"start {summary['rss_mib']['start']:.0f} MiB, end "
            f"{summary['rss_mib']['end']:.0f} MiB, peak {summary['rss_mib']['peak']:.0f} MiB",
        ),
        (
            "CPU (mean of run)",
            f"bot {usage.get('bot_cpu_pct_mean', float('nan')):.0f} %, "
            f"zoom stand-in {usage.get('zoom_cpu_pct_mean', float('nan')):.0f} % "
            f"({summary['zoom_in']}"
            + (
                f", {usage['zoom_cpu_us_per_request']:.0f} us/request"
                if "zoom_cpu_us_per_request" in usage
                else ""
            )
            + f"); {os.cpu_count()} CPUs",
        ),
        ("bot stop", f"exit {summary['bot_exit_code']} after {summary['bot_stop_seconds']:.1f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for phase in ("run", "shutdown"):
        logged = summary["bot_log"][phase]
        for kind in ("events", "warnings"):
            if logged[kind]:
                items = ", ".join(f"{k} {v}" for k, v in sorted(logged[kind].items()))
                print(f"  bot log {kind} ({phase}): {items}")
    if "profile" in summary:
        prof = summary["profile"]
        print(f"  profile: bot busy {prof['busy_pct_of_wall']:.0f} % of the run (py-spy)")
        by_package = ", ".join(f"{name} {pct:.0f} %" for name, pct in prof["self_by_package"])
        print(f"    own time by package: {by_package}")
        print("    top functions by own time:")
        for name, pct in prof["self"][:8]:
            print(f"    {pct:5.1f} %  {name}")
    print()
    for name, met, detail in summary["targets"]:
        print(f"  [{'PASS' if met else 'FAIL'}] {name}: {detail}")
    print(f"\n  details: {summary['workdir']}")


def judge(summary: dict[str, Any]) -> list[tuple[str, bool, str]]:
    p, acks = summary["polls"], summary["acks"]
    lateness = p["lateness_s"]["p99"]
    ack = acks["all"]["p99"]
    return [
        ("no early polls", p["early_polls"] == 0, f"{p['early_polls']} early"),
        ("no slow_down", p["slow_down_answers"] == 0, f"{p['slow_down_answers']} slow_down"),
        (
            f"p99 ack < {TARGET_ACK_P99:g} s, every command acked",
            ack < TARGET_ACK_P99 and acks["failed"] == 0,
            f"p99 {fmt(ack)}, {acks['failed']} failed",
        ),
        (
            f"p99 poll lateness < {TARGET_LATENESS_P99:g} s",
            lateness < TARGET_LATENESS_P99,
            f"p99 {fmt(lateness)} ({p['overdue_flows_at_end']} flows overdue at end)",
        ),
        (
            "bot alive to the end",
            summary["bot_alive_at_end"],
            "alive" if summary["bot_alive_at_end"] else "the bot had exited",
        ),
    ]


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir or RESULTS / f"{stamp}-{args.flows}flows-{args.seconds:g}s")
    workdir.mkdir(parents=True, exist_ok=True)
    expires_in = max(900, int(args.seconds * 3 + 600))
    zoom = ZoomStandIn(args.zoom_in, args.interval, expires_in, workdir / "zoom-stand-in.log")
    slack = SlackEmulator()
    slack_server = BackgroundServer(slack.app)
    bot: BotProcess | None = None
    profiler: subprocess.Popen[bytes] | None = None
    summary: dict[str, Any] = {
        "flows": args.flows,
        "seconds": args.seconds,
        "interval": args.interval,
        "rate": args.rate,
        "pair_every": args.pair_every,
        "zoom_in": args.zoom_in,
        "workdir": str(workdir),
        "cpus": os.cpu_count(),
        "commit": git_state(),
        "python": sys.version.split()[0],
        "httpx": httpx.__version__,
    }
    try:
        print(f"zoom stand-in ({args.zoom_in}) ...", flush=True)
        zoom.start()
        slack.base_url = slack_server.start()
        extra = CALIBRATION_GRANTS if args.calibrate_seconds > 0 else 0
        print(f"requesting {args.flows + extra} device codes ...", flush=True)
        started = time.monotonic()
        codes = asyncio.run(fetch_device_codes(zoom.url, args.flows + extra))
        summary["seed_seconds"] = time.monotonic() - started
        seeded, calibration = codes[: args.flows], codes[args.flows :]
        if calibration:
            print(f"calibrating the stand-in for {args.calibrate_seconds:g} s ...", flush=True)
            summary["calibration"] = asyncio.run(
                calibrate_zoom(
                    zoom.url,
                    [a.device_code for a in calibration],
                    args.calibrate_seconds,
                    zoom.pid,
                )
            )
        command = shlex.split(args.bot_command) if args.bot_command else DEFAULT_BOT_COMMAND
        summary["bot_command"] = command
        bot = BotProcess(workdir, zoom.url, slack, command)
        seed_store(bot.env, seeded)
        print("starting the bot ...", flush=True)
        summary["startup_seconds"] = bot.start(timeout=60 + args.flows / 100)
        ready = time.monotonic()
        rss_start = status_kib(bot.pid)
        if args.profile:
            profiler = start_profiler(bot.pid, args.seconds, workdir)
        print(f"load for {args.seconds:g} s ...", flush=True)
        load = asyncio.run(
            drive(
                bot,
                slack,
                zoom.pid,
                seconds=args.seconds,
                rate=args.rate,
                pair_every=args.pair_every,
                ack_timeout=args.ack_timeout,
            )
        )
        end = load.end
        summary["bot_alive_at_end"] = bot.alive()
        rss_end = status_kib(bot.pid) if bot.alive() else 0
        rss_peak = status_kib(bot.pid, "VmHWM") if bot.alive() else 0
        summary["rss_mib"] = {
            "start": rss_start / 1024,
            "end": rss_end / 1024,
            "peak": rss_peak / 1024,
        }
        if profiler is not None:
            try:
                profiler.wait(30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        shutdown_offset = bot.log_path.stat().st_size
        bot.stop()
        summary["bot_stop_seconds"] = bot.stop_seconds
        summary["bot_exit_code"] = bot.exit_code
        print("reading the stand-in's record ...", flush=True)
        record = workdir / "zoom-requests.jsonl"
        summary["zoom_requests"] = zoom.dump(record)
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        if bot is not None:
            bot.stop()
        zoom.stop()
        slack_server.stop(timeout=5)

    summary["polls"] = analyse_polls(
        record,
        ready=ready,
        end=end,
        seeded={a.user_code for a in seeded},
        excluded={a.user_code for a in calibration},
        interval=args.interval,
        cpu_window=(load.usage[0].t, load.usage[-1].t) if load.usage else (0.0, 0.0),
    )
    usage = summary["usage"] = usage_summary(load.usage)
    if usage and summary["polls"]["stand_in_requests_in_cpu_window"] >= 1000:
        usage["zoom_cpu_us_per_request"] = (
            1e4
            * usage["zoom_cpu_pct_mean"]
            * usage["sampled_seconds"]
            / summary["polls"]["stand_in_requests_in_cpu_window"]
        )
    commands = load.commands
    summary["acks"] = {
        "all": distribution(c.latency for c in commands),
        "help": distribution(c.latency for c in commands if c.kind == "help"),
        "pair": distribution(c.latency for c in commands if c.kind == "pair"),
        "failed": sum(not c.ok for c in commands),
        "over_slack_limit": sum(c.latency >= SLACK_ACK_LIMIT for c in commands),
        "errors": Counter(c.error for c in commands if c.error).most_common(5),
    }
    summary["bot_log"] = log_summary(bot.log_path, shutdown_offset)
    profile = workdir / "bot-profile.txt"
    if args.profile and profile.exists():
        summary["profile"] = summarize_profile(profile, args.seconds)
    summary["targets"] = judge(summary)
    (workdir / "summary.json").write_text(
        json.dumps({**summary, "commands": [asdict(c) for c in commands]}, indent=2, default=str)
    )
    print_report(summary)
    return 0 if all(met for _, met, _ in summary["targets"]) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=10_000, help="pending pairings (10000)")
    parser.add_argument("--seconds", type=float, default=60, help="load duration (60)")
    parser.add_argument("--interval", type=int, default=5, help="stand-in's poll interval (5)")
    parser.add_argument("--rate", type=float, default=5, help="slash commands per second (5)")
    parser.add_argument(
        "--pair-every", type=int, default=10, help="every Nth command is /zoom pair (10; 0: none)"
    )
    parser.add_argument("--ack-timeout", type=float, default=10, help="per command (10 s)")
    parser.add_argument(
        "--zoom-in",
        choices=("process", "thread"),
        default="process",
        help="run the Zoom stand-in in its own process (default) or a thread of this one",
    )
    parser.add_argument(
        "--calibrate-seconds",
        type=float,
        default=3,
        help="measure the stand-in's own poll capacity first (3 s; 0 skips)",
    )
    parser.add_argument(
        "--bot-command",
        help="run this instead of `python -m bot --host 127.0.0.1` (what-if experiments)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the bot during the run")
    parser.add_argument("--workdir", help="where the db, logs and summary go (bench/results/...)")
    parser.add_argument(
        "--max-wall", type=float, help="abort the whole run after this many seconds"
    )
    args = parser.parse_args(argv)
    if args.flows < 1 or args.seconds <= 0 or args.rate <= 0 or args.interval < 1:
        parser.error("--flows, --seconds, --rate and --interval must be positive")
    max_wall = args.max_wall or args.seconds + 300 + args.flows / 25

    def on_alarm(signum: int, frame: object) -> None:
        raise BenchTimeout(f"the run took longer than --max-wall {max_wall:.0f} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(max_wall))
    try:
        return run(args)
    except (BenchTimeout, RuntimeError, httpx.HTTPError, TimeoutError) as exc:
        print(f"pending_pairings: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())

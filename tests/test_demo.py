"""`python -m bot demo` and `python -m bot emulator`: the repository alone is enough to try the bot.

Both run as a person would start them, as subprocesses with no Slack or Zoom settings at all.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.harness import ROOT, free_port, wait_for

ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
# A developer's real settings in the shell must not reach the demo's bot.
LEAKY = {
    "SLACK_APP_TOKEN": "xapp-developers-own",
    "SLACK_BOT_TOKEN": "xoxb-developers-own",
    "ZOOM_OAUTH_URL": "http://127.0.0.1:9",
}


def bot_module(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


class Transcript:
    """A running process's stdout, line by line, to wait on like a person reading it."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.position = 0
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The next line (after the last one expected) matching `pattern`."""

        def found() -> re.Match[str] | None:
            finished = not self._reader.is_alive()  # before looking: no line can come later
            for index in range(self.position, len(self.lines)):
                match = re.search(pattern, self.lines[index])
                if match:
                    self.position = index + 1
                    return match
            if finished:
                raise AssertionError(f"output ended (exit status {self.process.poll()})")
            return None

        try:
            return wait_for(found, timeout, what=repr(pattern))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- output so far ---\n{self.text}") from None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def test_scripted_demo_passes_every_step(tmp_path):
    result = subprocess.run(
        bot_module("demo", "--script"),
        cwd=tmp_path,
        env={**ENV, **LEAKY},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=90,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in range(1, 10):
        assert f"[{step}/9] ok:" in out
    assert "FAIL" not in out
    assert "demo script: all 9 steps ok" in out
    assert re.search(r"^Pairing code: +[A-Z0-9]{8}$", out, re.M)
    assert re.search(r"^QR code: +\S+\.png$", out, re.M)
    assert "Paired with Zoom as you@example.com" in out
    assert re.search(r"\[Join\] http://127\.0\.0\.1:\d+/j/\d+\?pwd=", out)
    assert re.search(r"\[Start as host\] http://127\.0\.0\.1:\d+/s/\d+\?zak=", out)
    assert "Traceback" not in out + result.stderr
    assert "bot's log" not in result.stderr  # shown only when something failed


def test_scripted_demo_fails_when_a_step_does_not_happen_in_time(tmp_path):
    # A 30 s polling interval: the bot cannot notice the approval within an 8 s budget.
    result = subprocess.run(
        bot_module("demo", "--script", "--interval", "30", "--budget", "8"),
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[3/9] ok:" in result.stdout
    assert "[4/9] FAIL:" in result.stdout
    assert "[5/9]" not in result.stdout
    assert "event=pairing_started" in result.stderr  # the bot's log, to see why


def test_interactive_demo_pairs_and_starts_a_meeting(tmp_path):
    process = subprocess.Popen(
        bot_module("demo"),
        cwd=tmp_path,
        env={**ENV, **LEAKY},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    demo = Transcript(process)
    try:
        demo.expect(r"You are @you in #general")
        demo.send("/zoom pair")
        code = demo.expect(r"^Pairing code: +([A-Z0-9]{8})$")[1]
        qr = Path(demo.expect(r"^QR code: +(\S+\.png)$")[1])
        assert qr.read_bytes().startswith(b"\x89PNG")
        demo.expect(rf"^Approval page: +http://127\.0\.0\.1:\d+/oauth/device/complete/{code}$")
        demo.send("approve")
        demo.expect(r"Device approved")
        demo.expect(r"Paired with Zoom as you@example\.com")
        demo.send("/zoom meet standup")
        demo.expect(r"^bot, in #general:$")
        demo.expect(r"@you started a Zoom meeting: standup")
        demo.expect(r"\[Join\] http://127\.0\.0\.1:\d+/j/\d+\?pwd=")
        demo.expect(r"^bot, visible only to you:$")
        demo.expect(r"\[Start as host\] http://127\.0\.0\.1:\d+/s/\d+\?zak=")
        demo.send("quit")
        assert process.wait(30) == 0, demo.text
        demo.expect(r"^bye$", timeout=5)
        assert not qr.exists()  # the temporary directory went with the demo
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_interactive_demo_ends_at_end_of_input(tmp_path):
    result = subprocess.run(
        bot_module("demo"),
        cwd=tmp_path,
        env=ENV,
        input="help\n/zoom status\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "approve or deny" in result.stdout
    assert "You have no Zoom account linked" in result.stdout


def test_emulator_serves_the_zoom_stand_in(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        bot_module("emulator", "--port", str(port), "--client-id", "app", "--client-secret", "s3"),
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        with httpx.Client(timeout=5.0) as http:

            def answers() -> bool:
                assert process.poll() is None, process.communicate()[0]
                try:
                    return http.get(f"{base}/oauth_device").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(answers, 20, what="the emulator")
            assert "Enter the code" in http.get(f"{base}/oauth_device").text
            refused = http.post(f"{base}/oauth/devicecode?client_id=app", auth=("app", "wrong"))
            assert refused.status_code == 401
            device = http.post(f"{base}/oauth/devicecode?client_id=app", auth=("app", "s3"))
            assert device.status_code == 200, device.text
            grant = device.json()
            assert grant["verification_uri_complete"].startswith(f"{base}/oauth/device/complete/")
            page = http.get(grant["verification_uri_complete"])
            assert page.status_code == 200
            assert grant["user_code"] in page.text and "Approve" in page.text
            done = http.post(grant["verification_uri_complete"], data={"action": "approve"})
            assert "Device approved" in done.text and "you@example.com" in done.text
    finally:
        process.terminate()
        out = process.communicate(timeout=20)[0]
    # uvicorn stops cleanly, then re-raises the SIGTERM it caught.
    assert process.returncode in (0, -signal.SIGTERM), out
    assert "Finished server process" in out and "Traceback" not in out
    for line in (
        f"ZOOM_OAUTH_URL={base}",
        f"ZOOM_API_URL={base}/v2",
        "ZOOM_CLIENT_ID=app",
        "ZOOM_CLIENT_SECRET=s3",
    ):
        assert line in out
    assert "/oauth/device/complete/" in out


def test_emulator_rejects_a_bad_port(tmp_path):
    result = subprocess.run(
        bot_module("emulator", "--port", "http"),
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "not a TCP port" in result.stderr and "Traceback" not in result.stderr

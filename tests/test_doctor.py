"""`python -m bot doctor` against the stand-ins: one line per check, a fix for each failure."""

from __future__ import annotations

import subprocess

import sqlite_utils

from tests.harness import BotProcess


def doctor(tmp_path, zoom, slack, **env: str) -> subprocess.CompletedProcess[str]:
    bot = BotProcess(tmp_path, zoom=zoom, slack=slack, signing_secret="s", extra_env=env)
    return bot.run("doctor")


def test_all_checks_pass(tmp_path, zoom, slack):
    result = doctor(tmp_path, zoom, slack)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 5
    assert "Test Team" in result.stdout
    # It paired nobody and stored nothing.
    db = sqlite_utils.Database(tmp_path / "zoombot.db")
    assert db.table("pairings").count == 0 and db.table("pending_flows").count == 0


def test_wrong_zoom_secret(tmp_path, zoom, slack):
    result = doctor(tmp_path, zoom, slack, ZOOM_CLIENT_SECRET="nope-nope")
    assert result.returncode == 1
    [line] = [
        line for line in result.stdout.splitlines() if line.startswith("FAIL  zoom credentials")
    ]
    assert "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET" in line
    assert "nope-nope" not in result.stdout


def test_wrong_slack_token(tmp_path, zoom, slack):
    result = doctor(tmp_path, zoom, slack, SLACK_BOT_TOKEN="xoxb-wrong")
    assert result.returncode == 1
    assert "FAIL  slack: auth.test refused the bot token (invalid_auth)" in result.stdout


def test_device_grant_not_enabled(tmp_path, zoom, slack):
    zoom.inject(
        "/oauth/devicecode", status=400, body={"error": "unauthorized_client", "reason": "x"}
    )
    result = doctor(tmp_path, zoom, slack)
    assert result.returncode == 1
    assert "FAIL  zoom device grant" in result.stdout and "Zoom Support" in result.stdout


def test_unwritable_database_and_unreachable_zoom(tmp_path, zoom, slack):
    result = doctor(
        tmp_path,
        zoom,
        slack,
        ZOOMBOT_DB=str(tmp_path / "missing-dir" / "bot.db"),
        ZOOM_OAUTH_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 1
    assert "FAIL  database" in result.stdout and "ZOOMBOT_DB" in result.stdout
    assert "FAIL  zoom credentials: could not check it" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_configuration(tmp_path, zoom, slack):
    result = doctor(tmp_path, zoom, slack, ZOOM_CLIENT_ID="")
    assert result.returncode == 1
    assert result.stdout.startswith(
        "FAIL  configuration: missing required environment variable ZOOM_CLIENT_ID"
    )

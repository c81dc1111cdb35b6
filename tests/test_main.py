"""Starting the program: configuration problems end in one line and exit status 2."""

from __future__ import annotations

import subprocess

import pytest

from tests.harness import bare_env, run_bot

FULL = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "secret",
    "ZOOM_CLIENT_ID": "id",
    "ZOOM_CLIENT_SECRET": "zoom-secret",
}


def run(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    return run_bot([], bare_env(**env), tmp_path)


@pytest.mark.parametrize("missing", sorted(FULL))
def test_missing_variable_is_named_in_one_line(tmp_path, missing):
    env = {k: v for k, v in FULL.items() if k != missing}
    result = run(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_port_is_explained(tmp_path):
    result = run({**FULL, "PORT": "http"}, tmp_path)
    assert result.returncode == 2
    assert "PORT" in result.stderr and "Traceback" not in result.stderr


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in FULL.items() if k != "ZOOM_CLIENT_ID")
    )
    result = run({"ZOOM_CLIENT_ID": "id", "PORT": "http"}, tmp_path)
    assert "PORT" in result.stderr  # got past every variable the .env file holds


def test_socket_mode_does_not_need_a_signing_secret(tmp_path):
    env = {k: v for k, v in FULL.items() if k != "SLACK_SIGNING_SECRET"}
    result = run({**env, "SLACK_APP_TOKEN": "not-an-app-token"}, tmp_path)
    assert result.returncode == 2
    assert "xapp-" in result.stderr

"""One poller per database: a second process refuses to start; a dead one leaves no lock."""

from __future__ import annotations

from tests.harness import BotProcess


def test_second_process_on_the_same_database_refuses(bot, tmp_path, zoom, slack):
    second = BotProcess(tmp_path, zoom=zoom, slack=slack, signing_secret="s")
    result = second.run()
    assert result.returncode == 2
    assert "another zoombot process is already running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_killed_process_leaves_no_lock(bot):
    bot.kill()
    bot.start()  # would fail if the dead process still held the lock

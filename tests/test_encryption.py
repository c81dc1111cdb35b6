"""Secrets at rest: the database file holds no token, device code or ZAK in the clear."""

from __future__ import annotations

import os
import sqlite3
import stat

from cryptography.fernet import Fernet

from tests.conftest import pair_user
from tests.harness import BotProcess


def raw_database_bytes(bot: BotProcess) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        path = bot.db_path.with_name(bot.db_path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def test_no_secret_in_the_database_files(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    bot.command("pair")  # a pending flow too, with its device code
    bot.command("meet standup").wait_response(2)
    zoom.expire_access_tokens()
    bot.command("meet again").wait_response(2)  # through a refresh: a second token pair
    secrets = [r.response["device_code"] for r in zoom.requests_to("/oauth/devicecode")]
    for answer in (r.response for r in zoom.requests_to("/oauth/token") if r.status == 200):
        secrets += [answer["access_token"], answer["refresh_token"]]
    secrets += zoom.issued_zaks
    assert len(secrets) >= 8
    raw = raw_database_bytes(bot)
    assert [s for s in secrets if s.encode() in raw] == []
    # ... while the bot itself still reads them.
    assert bot.rows("pairings")[0]["refresh_token"] == secrets[-len(zoom.issued_zaks) - 1]


def test_key_file_is_created_private_and_warned_about_once(bot):
    key_file = bot.db_path.with_name(bot.db_path.name + ".key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert bot.logs.count("event=encryption_key_created") == 1
    bot.stop()
    bot.start()
    assert bot.logs.count("event=encryption_key_created") == 1


def test_key_rotation(tmp_path, zoom, slack):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    bot = BotProcess(
        tmp_path,
        zoom=zoom,
        slack=slack,
        signing_secret="s",
        extra_env={"ZOOMBOT_ENCRYPTION_KEY": old},
    )
    bot.start()
    pair_user(bot, zoom, slack, "U0ALICE")
    bot.stop()
    assert not bot.db_path.with_name(bot.db_path.name + ".key").exists()

    bot.env["ZOOMBOT_ENCRYPTION_KEY"] = f"{new},{old}"
    rotated = bot.run("rotate-keys")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 rows" in rotated.stdout

    bot.env["ZOOMBOT_ENCRYPTION_KEY"] = new  # the old key is gone
    bot.start()
    try:
        [channel_post, _] = bot.command("meet").wait_response(2)
        assert channel_post["response_type"] == "in_channel"
    finally:
        bot.stop()


def test_a_wrong_key_stops_the_bot_with_one_line(tmp_path, zoom, slack):
    bot = BotProcess(
        tmp_path,
        zoom=zoom,
        slack=slack,
        signing_secret="s",
        extra_env={"ZOOMBOT_ENCRYPTION_KEY": Fernet.generate_key().decode()},
    )
    bot.start()
    pair_user(bot, zoom, slack, "U0ALICE")
    bot.stop()
    for key in (Fernet.generate_key().decode(), "not-a-key"):
        result = bot.run(ZOOMBOT_ENCRYPTION_KEY=key)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "ZOOMBOT_ENCRYPTION_KEY" in result.stderr


def test_a_version_1_database_is_migrated_without_losing_rows(tmp_path, zoom, slack):
    """Schema 1 kept tokens in the clear: start-up encrypts them and keeps every row."""
    # Real tokens from the stand-in, as a schema-1 bot would have stored them.
    bot = BotProcess(tmp_path / "new", zoom=zoom, slack=slack, signing_secret="s")
    (tmp_path / "new").mkdir()
    bot.start()
    pair_user(bot, zoom, slack, "U0ALICE")
    row = bot.rows("pairings")[0]
    bot.stop()

    old_db = tmp_path / "zoombot.db"
    conn = sqlite3.connect(old_db)
    conn.executescript(
        """
        CREATE TABLE pending_flows (enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL,
          user_id TEXT NOT NULL, flow_id TEXT, device_code TEXT, user_code TEXT,
          verification_uri TEXT, verification_uri_complete TEXT, interval INTEGER,
          expires_at FLOAT, created_at FLOAT, dm_channel TEXT, dm_ts TEXT, qr_file_id TEXT,
          response_url TEXT, PRIMARY KEY (enterprise_id, team_id, user_id));
        CREATE TABLE pairings (enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL,
          user_id TEXT NOT NULL, zoom_user_id TEXT, zoom_account_id TEXT, zoom_email TEXT,
          zoom_name TEXT, access_token TEXT, refresh_token TEXT, expires_at FLOAT, scopes TEXT,
          api_url TEXT, paired_at FLOAT, updated_at FLOAT,
          PRIMARY KEY (enterprise_id, team_id, user_id));
        PRAGMA user_version = 1;
        """
    )
    columns = [c for c in row if c != "generation"]
    conn.execute(
        f"INSERT INTO pairings ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [row[c] for c in columns],
    )
    conn.commit()
    conn.close()
    assert row["refresh_token"].encode() in old_db.read_bytes()

    migrated = BotProcess(tmp_path, zoom=zoom, slack=slack, signing_secret="s")
    migrated.start()
    try:
        [after] = migrated.rows("pairings")
        assert after["refresh_token"] == row["refresh_token"]
        assert after["zoom_email"] == "alice@example.com"
        assert row["refresh_token"].encode() not in raw_database_bytes(migrated)
        version = sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone()[0]
        assert version == 2
        [channel_post, _] = migrated.command("meet").wait_response(2)
        assert channel_post["response_type"] == "in_channel"
    finally:
        migrated.stop()
    assert os.path.exists(old_db)

"""Hypothesis strategies for what Slack and Zoom might send: odd text, odd JSON, odd forms.

Text is any Unicode a client can encode (no lone surrogates: they have no UTF-8 form, so no
HTTP body can carry them), salted with the pieces that tend to break chat bots: Slack markup,
emoji sequences, right-to-left marks, control and invisible characters, and words that mean
something to the code that parses Slack's requests.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from bot.slack.app_home import HOME_MEET_ACTION, HOME_PAIR_ACTION, HOME_UNPAIR_ACTION
from bot.slack.meeting_messages import JOIN_ACTION, PAIR_ACTION, START_AS_HOST_ACTION
from bot.slack.pairing_dm import OPEN_LINK_ACTION

TEAM_ID = "T0TEAM"

SLACK_MARKUP = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<@U0ALICE|alice>",
    "<#C123|general>",
    "<!subteam^S123|@team>",
    "<https://example.com|a link>",
    "<!date^1392734382^{date_num}|fallback>",
    "&lt;&gt;&amp;",
    "*bold* _it_ ~gone~ `code`",
    "```\nblock\n```",
    ">quote",
    ":smile::skin-tone-3:",
)
EMOJI = ("😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "\U0001f9d1\u200d\U0001f4bb")
RIGHT_TO_LEFT = ("\u202e", "\u202b", "\u200f", "\u061c", "שלום", "مرحبا بالعالم")
ODD_CHARACTERS = (
    "\x00",
    "\t",
    "\n",
    "\r\n",
    "\x1b[31m",
    "\x7f",
    "\u0085",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
    "\u00a0",
    "\u3000",
    "İ",
    "ß",
    "ﬀ",
    "\U0001d54f",
    "%",
    "%00",
    "+",
    "&",
    "=",
    "\\",
    '"',
    "'",
    "{",
    "}",
)
#: Words the request parsing or the bot itself give a meaning to.
LOADED_WORDS = (
    "meet",
    "pair",
    "unpair",
    "payload",
    "ssl_check",
    "type",
    "command",
    "url_verification",
    "null",
    "true",
    "{}",
    "[]",
)
SUBCOMMANDS = ("", "meet", "meeting", "pair", "status", "unpair", "logout", "help")

ACTION_IDS = (
    PAIR_ACTION,
    JOIN_ACTION,
    START_AS_HOST_ACTION,
    OPEN_LINK_ACTION,
    HOME_PAIR_ACTION,
    HOME_MEET_ACTION,
    HOME_UNPAIR_ACTION,
)
EVENT_TYPES = (
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
    "message",
    "app_mention",
    "member_joined_channel",
    "team_join",
)

characters = st.characters(exclude_categories=["Cs"])
pieces = st.sampled_from(SLACK_MARKUP + EMOJI + RIGHT_TO_LEFT + ODD_CHARACTERS + LOADED_WORDS)


def short_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """A mix of random Unicode runs and the pieces above."""
    return st.lists(
        st.one_of(st.text(characters, max_size=8), pieces), max_size=max(1, max_size // 4)
    ).map(lambda parts: "".join(parts)[:max_size])


def long_text(max_size: int = 4000) -> st.SearchStrategy[str]:
    """A few kilobytes of text: a short non-empty run repeated up to `max_size` characters."""
    return st.tuples(short_text(20).filter(bool), st.integers(200, max_size)).map(
        lambda args: (args[0] * (args[1] // len(args[0]) + 1))[: args[1]]
    )


def slack_text() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), short_text(60), long_text())


@st.composite
def command_texts(draw: st.DrawFn) -> str:
    """What a person might type after `/zoom`: mostly a subcommand (in any case), then anything."""
    if draw(st.integers(0, 3)) == 0:
        return draw(slack_text())
    word = draw(st.sampled_from(SUBCOMMANDS))
    word = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    leading = draw(st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u3000"]))
    gap = draw(st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0"]))
    return leading + word + gap + draw(slack_text())


user_ids = st.one_of(
    st.from_regex(r"\AU[0-9A-Z]{2,10}\Z"), st.sampled_from(["U0BOB", "W0ENTERPRISE", "USLACKBOT"])
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    short_text(20),
)
json_keys = st.one_of(
    short_text(10),
    st.sampled_from(
        ["type", "id", "user", "team", "enterprise", "actions", "action_id", "view", "event"]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_keys, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A dict from `base` with some keys dropped and some values replaced by any JSON value."""
    value = dict(draw(base))
    keys = sorted(value)
    if not keys:
        return value
    for key in draw(st.sets(st.sampled_from(keys), max_size=len(keys))):
        del value[key]
    if draw(st.booleans()):
        value.update(
            draw(st.dictionaries(st.sampled_from(keys) | json_keys, json_values, max_size=3))
        )
    return value


def team() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"id": st.just(TEAM_ID), "domain": st.just("test")})


def block_actions(user_id: str, response_url: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Button presses as Slack sends them, then mangled."""
    action = st.fixed_dictionaries(
        {
            "action_id": st.one_of(st.sampled_from(ACTION_IDS), short_text(20)),
            "block_id": short_text(10),
            "type": st.sampled_from(["button", "static_select", "overflow"]),
            "action_ts": st.just("1.2"),
        },
        optional={"value": short_text(20)},
    )
    press = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["block_actions", "interactive_message", "message_action"]),
            "team": team(),
            "user": st.fixed_dictionaries(
                {"id": st.one_of(st.just(user_id), user_ids), "team_id": st.just(TEAM_ID)}
            ),
            "api_app_id": st.just("A0APP"),
            "trigger_id": st.just("1.2.3"),
            "actions": st.lists(mutated(action), min_size=1, max_size=3),
        },
        optional={
            "response_url": response_url,
            "container": st.just({"type": "message", "is_ephemeral": True}),
            "view": st.just({"type": "home", "id": "V123"}),
            "channel": st.just({"id": "C0GENERAL"}),
        },
    )
    return mutated(press)


def view_submissions() -> st.SearchStrategy[Any]:
    view = st.fixed_dictionaries(
        {
            "id": st.just("V123"),
            "type": st.just("modal"),
            "callback_id": short_text(20),
            "private_metadata": short_text(20),
            "state": st.fixed_dictionaries({"values": st.dictionaries(short_text(5), json_values)}),
        }
    )
    submission = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["view_submission", "view_closed", "shortcut"]),
            "team": team(),
            "user": st.just({"id": "U0ALICE", "team_id": TEAM_ID}),
            "api_app_id": st.just("A0APP"),
            "view": mutated(view),
        }
    )
    return mutated(submission)


def slack_events(user_id: str) -> st.SearchStrategy[Any]:
    """Events API envelopes: known and unknown event types, then mangled at both levels."""
    event = st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(EVENT_TYPES), short_text(20))},
        optional={
            "user": st.one_of(st.just(user_id), user_ids),
            "tab": st.one_of(st.sampled_from(["home", "messages", "about"]), short_text(10)),
            "channel": st.just("D0ALICE"),
            "text": slack_text(),
            "event_ts": st.just("1700000000.000100"),
            "tokens": st.just({"oauth": ["U0ALICE"], "bot": ["UBOT"]}),
        },
    )
    envelope = st.fixed_dictionaries(
        {
            "token": st.just("deprecated"),
            "team_id": st.just(TEAM_ID),
            "api_app_id": st.just("A0APP"),
            "type": st.just("event_callback"),
            "event_id": st.from_regex(r"\AEv[0-9A-Z]{8}\Z"),
            "event_time": st.just(1_700_000_000),
            "event": mutated(event),
            "authorizations": st.just(
                [
                    {
                        "team_id": TEAM_ID,
                        "user_id": "UBOT",
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ]
            ),
        }
    )
    return mutated(envelope)


def url_verifications() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"token": st.just("deprecated"), "type": st.just("url_verification")},
        optional={"challenge": st.one_of(short_text(60), json_values)},
    )


def unparseable_slack_bodies() -> st.SearchStrategy[tuple[bytes, str]]:
    """Bodies that are not one JSON object: bad `payload=` JSON, JSON lists, bytes, forms."""
    form = "application/x-www-form-urlencoded"
    as_json = "application/json"
    not_an_object = json_values.filter(lambda value: not isinstance(value, dict))
    return st.one_of(
        st.tuples(short_text(40).map(lambda text: "payload=" + text), st.just(form)),
        st.tuples(not_an_object.map(lambda value: "payload=" + json.dumps(value)), st.just(form)),
        st.tuples(not_an_object.map(json.dumps), st.sampled_from([as_json, form])),
        st.tuples(short_text(40).map(lambda text: "{" + text), st.sampled_from([as_json, form])),
        st.tuples(short_text(40), st.sampled_from([as_json, form, "text/plain"])),
    ).map(lambda pair: (pair[0].encode(), pair[1]))


def zoom_events() -> st.SearchStrategy[Any]:
    """Zoom webhook bodies (any JSON value), weighted towards events the bot reads."""
    deauthorization = st.fixed_dictionaries(
        {
            "event": st.just("app_deauthorized"),
            "event_ts": st.integers(0, 2**53),
            "payload": mutated(
                st.fixed_dictionaries(
                    {
                        "account_id": short_text(20),
                        "user_id": short_text(20),
                        "client_id": short_text(20),
                        "deauthorization_time": st.just("2026-01-01T00:00:00.000Z"),
                        "user_data_retention": st.just("false"),
                        "signature": st.just("0" * 64),
                    }
                )
            ),
        }
    )
    url_validation = st.fixed_dictionaries(
        {
            "event": st.just("endpoint.url_validation"),
            "payload": mutated(st.fixed_dictionaries({"plainToken": short_text(40)})),
        }
    )
    other = st.fixed_dictionaries(
        {
            "event": st.one_of(
                st.sampled_from(["meeting.started", "app_deauthorized"]), json_values
            ),
            "payload": json_values,
        }
    )
    return st.one_of(mutated(deauthorization), mutated(url_validation), mutated(other), json_values)


header_values = st.one_of(
    st.sampled_from(
        [b"", b"v0=", b"v0=" + b"0" * 64, b"v1=abc", b"+1700000000", b"1_700_000_000", b"-1"]
    ),
    # Digits of other scripts (Arabic-Indic, fullwidth), which int() would accept.
    st.sampled_from(["\u0661\u0667\u0660\u0660", "\uff11\uff17\uff10\uff10"]).map(str.encode),
    st.lists(st.integers(0x21, 0xFF).filter(lambda byte: byte != 0x7F), max_size=80).map(bytes),
)

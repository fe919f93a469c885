"""gwsync.text: what Google and the target send, made safe to keep, show, log and compare."""

import io
import json
import logging
import random
import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from gwsync.sources.google.parse import quoted as google_quoted
from gwsync.targets.scim.answers import DETAIL_LIMIT, refusal
from gwsync.text import (
    ESCAPED_CATEGORIES,
    EscapedLogs,
    address_key,
    escape_logs,
    quoted,
    same_address,
    visible,
    visible_json,
    without_surrogates,
    without_surrogates_in,
)


def test_lone_surrogates_become_the_replacement_character_and_pairs_of_real_characters_stay() -> None:
    assert without_surrogates("a\ud800b\udfffc 😀 é") == "a\ufffdb\ufffdc 😀 é"
    assert without_surrogates_in({"k\ud800": ["x\udc00", 1, None, {"y": "\ud83d"}]}) == {
        "k\ufffd": ["x\ufffd", 1, None, {"y": "\ufffd"}]
    }


def test_every_control_format_and_separator_character_is_escaped() -> None:
    # All of them, not a list that ages: every code point of those categories in this Python.
    escaped = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ESCAPED_CATEGORIES
    ]
    assert {"\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u200b", "\u202e", "\u2028", "\u2029", "\ufeff"} <= set(
        escaped
    )
    for char in escaped:
        shown = visible(f"a{char}b")
        assert char not in shown and shown.isprintable() and shown.isascii(), repr(char)


def test_letters_marks_spaces_and_symbols_of_every_script_are_kept() -> None:
    text = "Zoë Ångström, 李 小龍, Nguyễn, عربى, 😀, non\u00a0breaking"
    assert visible(text) == text == visible(text, multiline=True)


def test_json_for_a_terminal_escapes_the_same_characters_and_parses_to_the_same_values() -> None:
    document = '{"key":"\u202eevil\u2028\x85\U000e0041\x7f é"}'
    shown = visible_json(document)
    assert shown == '{"key":"\\u202eevil\\u2028\\u0085\\udb40\\udc41\\u007f é"}'
    assert json.loads(shown) == json.loads(document)


def hostile_record_written(logger: logging.Logger, stream: io.StringIO) -> str:
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("Unexpected error applying %s %s", "User", "jane\r\n\x1b[2J\u202eroot@acme.com")
    return stream.getvalue()


def test_log_records_quoting_hostile_keys_are_one_visible_line_and_keep_their_traceback() -> None:
    logger = logging.getLogger("gwsync.tests.text")
    logger.propagate = False
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    try:
        escape_logs(logger)
        escape_logs(logger)  # once is enough: a second call adds nothing
        assert [type(f) for f in logger.handlers[0].filters] == [EscapedLogs]
        written = hostile_record_written(logger, stream)
    finally:
        logger.handlers.clear()
    first, *traceback = written.splitlines()
    assert first == "Unexpected error applying User jane\\r\\n\\x1b[2J\\u202eroot@acme.com"
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-1] == "ValueError: boom"


def test_addresses_differ_by_non_ascii_letters_that_lower_or_casefold_would_merge() -> None:
    assert "\u212aate@acme.com".lower() == "kate@acme.com"  # why str.lower() is not used
    assert not same_address("\u212aate@acme.com", "kate@acme.com")
    assert not same_address("ro\u017fe@acme.com", "rose@acme.com")  # LATIN SMALL LETTER LONG S
    assert not same_address("stra\u00dfe@acme.com", "strasse@acme.com")  # casefold's ß -> ss
    assert address_key("\u212aATE@Acme.COM") == "\u212aate@acme.com"


ASCII_ADDRESS = st.from_regex(r"\A[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,12}\.[A-Za-z]{2,6}\Z")


@given(ASCII_ADDRESS, st.randoms(use_true_random=False))
def test_ascii_case_differences_still_match(address: str, rng: random.Random) -> None:
    flipped = "".join(c.swapcase() if rng.random() < 0.5 else c for c in address)
    assert same_address(address, flipped)
    assert address_key(flipped) == address.lower()


def test_both_adapters_quote_an_answer_alike_escaped_then_bounded() -> None:
    hostile = "\u202eelpmaxe\x1b[31m" + "z" * 5_000
    shown = "\\u202eelpmaxe\\x1b[31m" + "z" * 5_000
    assert quoted(hostile, 300) == shown[:300] + "\u2026"
    assert quoted("short \u202e", 300) == "short \\u202e"
    assert google_quoted(hostile) == quoted(hostile, 300)
    error = refusal(
        {"status": "400", "scimType": "invalidValue", "detail": hostile}, "creating jane@acme.example"
    )
    assert str(error) == (
        f"Target refused creating jane@acme.example: 400 invalidValue: {quoted(hostile, DETAIL_LIMIT)}"
    )

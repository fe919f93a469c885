"""Text for a terminal without rich: control characters made visible, one-sentence messages.

Kept apart from `gwsync.cli.output` so a command that prints plain lines (`gwsync validate`)
does not import rich.
"""

import json
import re

# What a terminal would act on instead of showing: C0 controls (ESC starts CSI sequences and OSC 8
# hyperlinks, BEL rings, CR and BS overwrite what was printed), DEL, C1 controls (0x9b is an
# 8-bit CSI) and the bidirectional overrides and isolates that reorder what is shown ("Trojan
# Source"). Names, keys and messages come from Google, the SCIM target and the cluster, so any
# of them may carry these; rich drops BEL, BS and CR but passes ESC, DEL, C1 and bidi through.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\r\n{_CONTROLS}]")
_LINES = re.compile(f"\r(?!\n)|[{_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: str, *, multiline: bool = False) -> str:
    """`value` with every control character shown as its escape (ESC as \\x1b, CR as \\r).

    Line ends (LF, CRLF) are kept only where a value may span lines (a target's error message,
    a CSV cell); in a name or key they are shown as \\n, so a value cannot start a line that
    looks like our own output. Tabs stay: rich expands them and CSV quotes them.
    """
    return (_LINES if multiline else _ONE_LINE).sub(_visible, value)


def sentence(message: str) -> str:
    """The message as one sentence: trimmed, ending with a full stop."""
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else f"{message}."


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 file`, `2 files`: the count and its noun, singular or plural as English wants."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


# json.dumps escapes C0 controls (ESC included) but, with ensure_ascii=False, writes DEL, C1
# controls and bidirectional overrides as they are: escaped here too, so JSON printed to a
# terminal cannot act on it. Outside strings JSON is plain ASCII, so every match is in a string.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]")


def json_text(document: object) -> str:
    """`document` as indented JSON, UTF-8 names kept readable, every control character escaped."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)

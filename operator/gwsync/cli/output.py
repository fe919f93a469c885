"""Where the CLI writes: rich consoles on stdout and stderr, and the one-sentence error.

Errors a user can fix are printed as `error: <one sentence>` on stderr with exit code 1,
never as a traceback.
"""

import re
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

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


def plain(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """Data for the terminal: never read as rich markup, never a control sequence."""
    return Text(printable(str(value), multiline=multiline), style=style)


def sentence(message: str) -> str:
    """The message as one sentence: trimmed, ending with a full stop."""
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else f"{message}."


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear sentence on stderr and exit non-zero."""
    # Text, not markup: names and messages may hold brackets rich would read as styles.
    # Messages quote names and server answers, so they are made printable as well.
    err.print(
        Text.assemble(("error:", "bold red"), " ", printable(sentence(message), multiline=True)),
        soft_wrap=True,
    )
    raise typer.Exit(code)

"""Text for a terminal without rich: control characters made visible, one-sentence messages.

Kept apart from `gwsync.cli.output` so a command that prints plain lines (`gwsync validate`)
does not import rich.
"""

from gwsync.text import visible


def printable(value: str, *, multiline: bool = False) -> str:
    """`value` with every control, format and separator character shown as its escape (ESC as
    \\x1b, CR as \\r, U+202E as \\u202e): see `gwsync.text.visible`.

    Names, keys and messages come from Google, the SCIM target and the cluster, so any of them
    may carry what a terminal acts on instead of showing; rich drops BEL, BS and CR but passes
    ESC, DEL, C1, the bidirectional overrides and the separators through.
    """
    return visible(value, multiline=multiline)


def sentence(message: str) -> str:
    """The message as one sentence: trimmed, ending with a full stop."""
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else f"{message}."

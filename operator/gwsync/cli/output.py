"""Where the CLI writes: rich consoles on stdout and stderr, and the one-sentence error.

Errors a user can fix are printed as `error: <one sentence>` on stderr with exit code 1,
never as a traceback.
"""

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def sentence(message: str) -> str:
    """The message as one sentence: trimmed, ending with a full stop."""
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else f"{message}."


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear sentence on stderr and exit non-zero."""
    # Text, not markup: names and messages may hold brackets rich would read as styles.
    err.print(Text.assemble(("error:", "bold red"), " ", sentence(message)), soft_wrap=True)
    raise typer.Exit(code)

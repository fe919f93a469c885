"""Where the CLI writes: rich consoles on stdout and stderr, and the one-sentence error.

Errors a user can fix are printed as `error: <one sentence>` on stderr with exit code 1,
never as a traceback.
"""

from typing import NoReturn

import typer
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gwsync.cli.text import printable, sentence

__all__ = ["FirstThatFits", "err", "fail", "hanging", "out", "plain", "printable", "sentence"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def plain(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """Data for the terminal: never read as rich markup, never a control sequence."""
    return Text(printable(str(value), multiline=multiline), style=style)


_UNBOUNDED = 100_000


class FirstThatFits:
    """The first of several layouts whose natural width fits the console (else the last)."""

    def __init__(self, *layouts: RenderableType) -> None:
        self.layouts = layouts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        unbounded = options.update_width(_UNBOUNDED)  # a measurement never exceeds the width asked
        for layout in self.layouts:
            if Measurement.get(console, unbounded, layout).maximum <= options.max_width:
                yield layout
                return
        yield self.layouts[-1]


def hanging(marker: str, text: str, style: str = "") -> Table:
    """`marker text`, wrapped between words with its next lines indented under the text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style=style, no_wrap=True)
    grid.add_column()
    grid.add_row(marker, plain(text))
    return grid


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear sentence on stderr and exit non-zero."""
    # Text, not markup: names and messages may hold brackets rich would read as styles.
    # Messages quote names and server answers, so they are made printable as well.
    err.print(
        Text.assemble(("error:", "bold red"), " ", printable(sentence(message), multiline=True)),
        soft_wrap=True,
    )
    raise typer.Exit(code)

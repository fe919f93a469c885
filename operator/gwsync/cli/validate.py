"""`gwsync validate`: walk files and folders, validate, print one line per problem.

Plain lines through typer (click's echo, colour only on a terminal), not rich: validate runs
in CI on every commit, and rich's import is a tenth of its start-up (bench/README.md).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import typer

from gwsync.api.validation import FileResult, Problem, validate_text
from gwsync.cli.text import printable

YAML_SUFFIXES = (".yaml", ".yml")


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        else:
            yield path


def _validate_file(path: Path) -> FileResult:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        result = FileResult(str(path))
        result.problems.append(Problem(str(path), "", "", "no such file"))
        return result
    except (OSError, UnicodeDecodeError) as exc:
        result = FileResult(str(path))
        result.problems.append(Problem(str(path), "", "", f"cannot be read: {exc}"))
        return result
    return validate_text(text, str(path))


def _say(text: str, *, err: bool = False, lead: str = "", colour: str = "") -> None:
    """One line; `lead` in `colour` when the stream is a terminal and NO_COLOR is unset."""
    color = False if "NO_COLOR" in os.environ else None  # None: click decides (a TTY or not)
    if lead:
        typer.secho(lead, fg=colour, err=err, nl=False, color=color)
    typer.echo(text, err=err)


def validate_paths(paths: list[Path]) -> int:
    """Validate everything under `paths`; return the exit code (1 on any problem)."""
    results = [_validate_file(path) for path in _files(paths)]
    problems = [problem for result in results for problem in result.problems]
    checked = sum(len(result.checked) for result in results)
    for result in results:
        for skipped in result.skipped:
            _say(printable(f"{result.file}: skipped {skipped} (not a GoogleProvisioning)"))
    if checked == 0 and not problems:
        where = results[0].file if len(results) == 1 else "the given files"
        problems.append(
            Problem(
                where, "", "", "holds no GoogleProvisioning (kind: GoogleProvisioning); nothing was validated"
            )
        )
    for problem in problems:
        _say(printable(str(problem)), err=True)
    if problems:
        _say(f" in {len(results)} file(s).", err=True, lead=f"{len(problems)} problem(s) found", colour="red")
        return 1
    _say(
        f" {checked} GoogleProvisioning object(s) valid in {len(results)} file(s).",
        lead="ok:",
        colour="green",
    )
    return 0

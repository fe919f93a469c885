"""`gwsync validate`: walk files and folders, validate, print one line per problem.

Plain lines through typer (click's echo, colour only on a terminal), not rich: validate runs
in CI on every commit, and rich's import is a tenth of its start-up (bench/README.md).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import typer

from gwsync.api.validation import FileResult, Problem, validate_text
from gwsync.cli.text import counted, json_text, printable

YAML_SUFFIXES = (".yaml", ".yml")
FORMATS = ("text", "json", "-")  # -o -: JSON on standard output, as for `sync -o -`


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


def _as_json(results: list[FileResult], problems: list[Problem]) -> str:
    """The outcome for scripts: every file's checked and skipped objects, every problem."""
    document = {
        "valid": not problems,
        "files": len(results),
        "checked": [{"file": r.file, "object": subject} for r in results for subject in r.checked],
        "skipped": [{"file": r.file, "object": subject} for r in results for subject in r.skipped],
        "problems": [
            {"file": p.file, "object": p.subject, "path": p.path, "message": p.message} for p in problems
        ],
    }
    return json_text(document)


def validate_paths(paths: list[Path], output: str = "text") -> int:
    """Validate everything under `paths`; print the outcome as text or JSON; return the exit code
    (1 on any problem)."""
    results = [_validate_file(path) for path in _files(paths)]
    problems = [problem for result in results for problem in result.problems]
    checked = sum(len(result.checked) for result in results)
    if checked == 0 and not problems:
        where = results[0].file if len(results) == 1 else "the given files"
        problems.append(
            Problem(
                where, "", "", "holds no GoogleProvisioning (kind: GoogleProvisioning); nothing was validated"
            )
        )
    if output in ("json", "-"):
        typer.echo(_as_json(results, problems))
        return 1 if problems else 0
    for result in results:
        for skipped in result.skipped:
            _say(printable(f"{result.file}: skipped {skipped} (not a GoogleProvisioning)"))
    for problem in problems:
        _say(printable(str(problem)), err=True)
    files = counted(len(results), "file")
    if problems:
        _say(f" in {files}.", err=True, lead=f"{counted(len(problems), 'problem')} found", colour="red")
        return 1
    objects = counted(checked, "GoogleProvisioning object")
    _say(f" {objects} valid in {files}.", lead="ok:", colour="green")
    return 0

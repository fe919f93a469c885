"""`gwsync validate`: walk files and folders, validate, print one line per problem."""

from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from gwsync.api.validation import FileResult, Problem, validate_text
from gwsync.cli.output import plain

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


def validate_paths(paths: list[Path], out: Console, err: Console) -> int:
    """Validate everything under `paths`; return the exit code (1 on any problem)."""
    results = [_validate_file(path) for path in _files(paths)]
    problems = [problem for result in results for problem in result.problems]
    checked = sum(len(result.checked) for result in results)
    for result in results:
        for skipped in result.skipped:
            out.print(plain(f"{result.file}: skipped {skipped} (not a GoogleProvisioning)"), soft_wrap=True)
    if checked == 0 and not problems:
        where = results[0].file if len(results) == 1 else "the given files"
        problems.append(
            Problem(
                where, "", "", "holds no GoogleProvisioning (kind: GoogleProvisioning); nothing was validated"
            )
        )
    for problem in problems:
        err.print(plain(str(problem)), soft_wrap=True)
    if problems:
        err.print(f"[red]{len(problems)} problem(s) found[/] in {len(results)} file(s).")
        return 1
    out.print(
        f"[green]ok:[/] {checked} GoogleProvisioning object(s) valid in {len(results)} file(s).",
        soft_wrap=True,
    )
    return 0

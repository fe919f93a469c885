"""Reading a file the person named on the command line, with one sentence for each way it fails."""

from pathlib import Path


class UnreadableFile(Exception):
    """The file cannot be read; the message names it and says why."""


def read_text(path: Path, name: str, folder_fix: str) -> str:
    """The UTF-8 text of `path`, which messages call `name`; `folder_fix` says what to pass instead
    of a folder."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnreadableFile(f"{name} does not exist.") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{name} is a folder: {folder_fix}.") from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{name} is not UTF-8 text.") from None
    except OSError as exc:
        raise UnreadableFile(f"{name} cannot be read: {exc.strerror or exc}.") from None

"""docs/security.md names, for each mitigation, the test that proves it: those tests exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "security.md"
# `tests/x.py::name`, or `::name` meaning the file named last before it.
REFERENCE = re.compile(r"`(tests/[^`:]+\.py)?::([a-z_0-9]+)(?:\[[^\]]*\])?`|`(tests/[^`:]+\.py)`")


def references() -> list[tuple[str, str]]:
    found, last = [], ""
    for match in REFERENCE.finditer(DOC.read_text()):
        path, name, bare = match.groups()
        last = path or bare or last
        if name:
            found.append((last, name))
    return found


def test_every_test_the_threat_model_names_exists() -> None:
    named = references()
    assert len(named) >= 20
    missing = [f"{path}::{name}" for path, name in named if f"def {name}(" not in (ROOT / path).read_text()]
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"

"""docs/reliability.md names, for each fault, the test that proves it: those tests exist, and every
fault-matrix test has its row."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "reliability.md"
# `tests/x.py::name`, or `::name` meaning the file named last before it.
REFERENCE = re.compile(r"`(tests/[^`:]+\.py)?::([a-z_0-9]+)(?:\[[^\]]*\])?`|`(tests/[^`:]+\.py)`")
MATRIX = [
    *sorted((ROOT / "tests" / "integration" / "faults").glob("test_*.py")),
    ROOT / "tests" / "integration" / "cluster" / "test_faults_operator.py",
]


def references() -> list[tuple[str, str]]:
    found, last = [], ""
    for match in REFERENCE.finditer(DOC.read_text(encoding="utf-8")):
        path, name, bare = match.groups()
        last = path or bare or last
        if name:
            found.append((last, name))
    return found


def test_every_test_the_fault_matrix_names_exists() -> None:
    named = references()
    assert len(named) >= 25
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file() or f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8")
    ]
    assert missing == [], f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_fault_matrix_test_has_its_row() -> None:
    named = {(path, name) for path, name in references()}
    defined = {
        (str(module.relative_to(ROOT)), name)
        for module in MATRIX
        for name in re.findall(
            r"^(?:async )?def (test_[a-z_0-9]+)\(", module.read_text(encoding="utf-8"), re.M
        )
    }
    assert len(defined) >= 15
    assert sorted(defined - named) == [], "fault-matrix tests missing from docs/reliability.md"

"""The README's laptop tour leaves no file for `git status` to show."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_files_the_tour_writes_are_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tour = README[README.index("### 2. One sync from your laptop") : README.index("### 3. On a cluster")]
    written = set(re.findall(r"> (\S+)$", tour, re.M))  # echo demo-token > token
    written |= set(re.findall(r"(?:--state|-o) (\S+\.(?:json|yaml))", tour))
    assert written >= {"token", "ledger.json", "report.json"}
    ignored = ["git", "check-ignore", "--no-index", *sorted(written)]
    done = subprocess.run(ignored, cwd=ROOT, capture_output=True, text=True, check=False)
    assert sorted(done.stdout.split()) == sorted(written)

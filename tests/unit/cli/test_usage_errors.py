"""A mistyped command line exits 1 with click's message: 2 is `gwsync sync`'s PartiallySucceeded."""

import pytest
from typer.testing import CliRunner

from gwsync.cli.main import app

runner = CliRunner()

USAGE_ERRORS = [
    (["sync", "-f", "acme.yaml", "--no-such-flag"], "Error: No such option: --no-such-flag"),
    (["sync", "--scim-token-file", "token"], "Error: Missing option '--filename' / '-f'."),
    (["plan"], "Error: Missing option '--filename' / '-f'."),
    (["synk"], "Error: No such command 'synk'. Did you mean 'sync'?"),
    (["report", "shwo"], "Error: No such command 'shwo'. Did you mean 'show'?"),
    (["--no-such-flag"], "Error: No such option: --no-such-flag"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_a_usage_error_exits_1_with_the_parsers_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == message
    assert "Usage: gwsync" in result.stderr and "Traceback" not in result.output

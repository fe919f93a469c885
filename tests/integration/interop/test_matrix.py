"""The interoperability matrix: every scenario against every server, checked against the table.

The table in docs/targets.md is the expected result: a cell is "yes" or "not supported: <what>",
and each test asserts the scenario's outcome equals its cell, so the table and the results
cannot disagree. What a server lacks comes from its declared limits, each shown by the
scenario itself (`Run.expect`), never from gwsync's choice.
"""

from __future__ import annotations

import json
import os

import pytest

from .backend import Backend
from .scenarios import SCENARIOS, Run, seed_unmanaged, unmanaged_state
from .servers import SERVERS
from .table import cell, expected_table


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_scenario(backend: Backend, scenario: str) -> None:
    ids = seed_unmanaged(backend)
    before = unmanaged_state(backend, ids)
    backend.reset_log()
    run = Run(backend)

    await SCENARIOS[scenario](run)

    assert unmanaged_state(backend, ids) == before, "gwsync wrote to objects it does not manage"
    if os.environ.get("GWSYNC_MATRIX_RECORD"):  # regenerate the table: record, do not compare
        with open(os.environ["GWSYNC_MATRIX_RECORD"], "a", encoding="utf-8") as out:
            out.write(json.dumps([backend.name, scenario, cell(run.unsupported)]) + "\n")
        return
    assert cell(run.unsupported) == expected_table()[backend.name][scenario]


def test_the_table_has_one_row_per_server_and_one_column_per_scenario() -> None:
    table = expected_table()
    assert set(table) >= set(SERVERS)
    for server, row in table.items():
        assert list(row) == list(SCENARIOS), server
        if server not in SERVERS:  # a row for a server the suite cannot start says why
            assert all(value.startswith("not run: ") for value in row.values()), server

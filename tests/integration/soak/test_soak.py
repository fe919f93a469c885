"""The chaos soak (issue 13, point 2): a short seeded run in `make test`, a long one in `make soak`.

`GWSYNC_SOAK_SYNCS` sets the number of syncs (default 15) and `GWSYNC_SOAK_SEED` the seed
(default 20261125, so that `make test` is the same run every time; `make soak` draws a fresh
one); a failing run names its seed, and the same seed replays it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.org import Org
from gwsync.testing.scim import ScimServer, run_scim_server

from .chaos import Soak

SYNCS = int(os.environ.get("GWSYNC_SOAK_SYNCS", "15"))
SEED = int(os.environ.get("GWSYNC_SOAK_SEED") or 20261125)


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(Org()) as emulator:
        yield emulator


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with run_scim_server() as server:
        yield server


async def test_the_invariants_hold_after_every_sync_of_a_changing_org_under_faults(
    google: GoogleEmulator, scim: ScimServer
) -> None:
    print(f"\nchaos soak: seed {SEED}, {SYNCS} syncs (replay with GWSYNC_SOAK_SEED={SEED})")
    soak = Soak(SEED, google, scim)
    first = await soak.sync()
    assert first is not None
    soak.check(first, "the initial sync")
    for round_ in range(1, SYNCS + 1):
        soak.evolve()
        kinds, kill_at = soak.arm()
        soak.figures.faults.update(kinds)
        outcome = await soak.sync(kill_at)
        soak.disarm()
        soak.figures.syncs += 1
        if outcome is not None:
            soak.check(outcome, f"sync {round_} with faults {kinds or 'none'}")

    converged = await soak.sync()
    assert converged is not None
    soak.check(converged, "the first fault-free sync", converged=True)
    quiet = await soak.sync()
    assert quiet is not None
    soak.check(quiet, "the second fault-free sync", converged=True)
    assert scim.writes == [], f"seed {SEED}: an unchanged org still wrote {scim.writes[:3]}"
    print(soak.figures.text())

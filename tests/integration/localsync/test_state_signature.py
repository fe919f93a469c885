"""`gwsync sync --state` signs its state file, and ignores one that does not verify (issue 23, point 1).

The key is derived from the SCIM token: an edited file, one an older gwsync wrote, or one signed
with another token is ignored with one warning naming the file, and users are then matched by
externalId only (the safe failure of DESIGN §3 rule 3).
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gwsync.sync.ledger import Ledger, Verdict, read_state, signed_state, state_file_key
from gwsync.testing.org import OrgUser, sample_org
from gwsync.testing.orggen import next_day
from gwsync.testing.scim import run_scim_server

from .test_sync_command import TOKEN, Workspace, flat

MALLORY = OrgUser(id="900000000000000000009", primary_email="mallory@acme.example", given_name="Mallory")
IGNORED = (
    "so it is ignored: users are matched by externalId only and teams by name, and the next state saved "
    "is signed."
)


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Workspace]:
    with run_scim_server(token=TOKEN) as scim:
        yield Workspace(tmp_path, scim)


def test_a_state_file_edited_by_hand_is_ignored_and_what_it_plants_is_left_alone(work: Workspace) -> None:
    assert work.run("sync").exit_code == 0
    break_glass = work.scim.seed_user("break-glass@acme.example", active=True)
    vendor = work.scim.seed_user("vendor@partner.example", active=True)
    document = json.loads(work.state.read_text(encoding="utf-8"))
    document["users"][MALLORY.id] = break_glass  # a new hire's Google id -> the break-glass admin
    document["users"]["900000000000000000077"] = vendor  # a Google id gone -> an account never created
    work.state.write_text(json.dumps(document), encoding="utf-8")
    org = sample_org()
    org.users.append(MALLORY)
    work.snapshot(org)

    result = work.run("sync")

    assert result.exit_code == 0, result.output
    assert flat(result.stderr) == (
        f"warning: State file {work.state} does not match its signature (it was changed by hand, or signed "
        f"with another SCIM token), {IGNORED}"
    )
    assert work.scim.call("GET", f"/Users/{break_glass}")["userName"] == "break-glass@acme.example"
    assert work.scim.call("GET", f"/Users/{vendor}")["active"] is True
    assert work.scim.user_by_name(MALLORY.primary_email)["id"] != break_glass
    saved, verdict = read_state(work.state.read_bytes(), state_file_key(TOKEN))  # what the next run reads
    assert (
        verdict is Verdict.SIGNED and MALLORY.id in saved.users and "900000000000000000077" not in saved.users
    )


@pytest.mark.parametrize("written_by", ["an older gwsync", "another token"])
def test_a_state_file_that_does_not_verify_is_named_and_a_leaver_stays(
    work: Workspace, written_by: str
) -> None:
    assert work.run("sync").exit_code == 0
    ledger = Ledger.from_json(work.state.read_bytes())
    if written_by == "an older gwsync":
        work.state.write_bytes(ledger.to_json())  # no signature
        why = "is not signed (a gwsync from before ledger signing, or a person, wrote it)"
    else:
        work.state.write_bytes(signed_state(ledger, state_file_key(TOKEN + "-before-rotation")))
        why = "does not match its signature (it was changed by hand, or signed with another SCIM token)"
    work.snapshot(next_day(sample_org())[0])  # sam.taylor leaves Google

    result = work.run("plan")

    assert result.exit_code == 0, result.output
    assert flat(result.stderr) == f"warning: State file {work.state} {why}, {IGNORED}"
    # Without a ledger it trusts, the leaver is no longer known as managed: left as is.
    assert "sam.taylor" not in result.stdout
    # The users it finds by externalId are taken into the ledger again: Adopt (issue 24), visibly.
    assert (
        "Dry run, would apply: 1 user created, 1 updated, 1 renamed, 35 adopted, 1 team adopted, 2 members "
        "added (0 users unchanged)." in flat(result.stdout)
    )

"""The plan of a team renamed in the spec, or whose group was renamed in the target: pure."""

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action
from gwsync.directory import Directory, Person
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import make_plan
from gwsync.sync.ports import TargetGroup


def spec(*mappings: tuple[str, str]) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "teams": {"enabled": True, "mappings": [{"team": t, "groups": [g]} for t, g in mappings]},
        }
    )


ORG = Directory(
    "C1",
    "acme.com",
    {"1": Person(id="1", primary_email="ana@acme.com")},
    {"eng@acme.com": frozenset({"1"}), "ops@acme.com": frozenset({"1"})},
    group_ids={"eng@acme.com": "g-eng", "ops@acme.com": "g-ops"},
)


def steps(mappings: GoogleProvisioningSpec, groups: list[TargetGroup], ledger: Ledger) -> list[object]:
    plan = make_plan(ORG, mappings, ledger, [], groups, group_external_ids=True)
    return [(s.item.key, s.item.action, s.group_id, s.display_name, s.renamed_from) for s in plan.teams]


def test_a_team_renamed_in_the_spec_takes_its_group_by_the_id_it_carries_or_was_sent() -> None:
    renamed = spec(("Platform", "eng@acme.com"))
    carrying = [TargetGroup("t1", "Eng", external_id="g-eng")]
    assert steps(renamed, carrying, Ledger(teams={"Eng": "t1"})) == [
        ("Platform", Action.RENAME, "t1", "Platform", "Eng")
    ]
    dropped = [TargetGroup("t1", "Eng")]  # a target that dropped the id: the ledger says it was sent
    sent = Ledger(teams={"Eng": "t1"}, team_sources={"Eng": "g-eng"})
    assert steps(renamed, dropped, sent) == [("Platform", Action.RENAME, "t1", "Platform", "Eng")]
    assert steps(renamed, dropped, Ledger(teams={"Eng": "t1"})) == [  # nothing ties them: a new group
        ("Platform", Action.CREATE, None, None, None)
    ]


def test_a_group_still_mapped_or_of_another_google_group_is_never_taken() -> None:
    groups = [TargetGroup("t1", "Eng", external_id="g-eng"), TargetGroup("t2", "Ops", external_id="g-ops")]
    ledger = Ledger(teams={"Eng": "t1", "Ops": "t2"})
    both = spec(("Eng", "eng@acme.com"), ("Platform", "ops@acme.com"))  # Ops renamed, Eng still mapped
    assert steps(both, groups, ledger) == [
        ("Eng", Action.UNCHANGED, "t1", None, None),
        ("Platform", Action.RENAME, "t2", "Platform", "Ops"),
    ]
    elsewhere = spec(("Platform", "ops@acme.com"))  # Eng unmapped, but its group is eng's, not ops'
    assert steps(elsewhere, groups[:1], Ledger(teams={"Eng": "t1"})) == [
        ("Platform", Action.CREATE, None, None, None)
    ]


def test_a_name_another_group_has_is_never_given_and_a_case_change_is_not_a_rename() -> None:
    eng = TargetGroup("t1", "Eng", external_id="g-eng")
    renamed = spec(("Platform", "eng@acme.com"))
    taken = [eng, TargetGroup("t9", "platform")]
    assert steps(renamed, taken, Ledger(teams={"Eng": "t1"})) == [
        ("Platform", Action.ADOPT, "t9", None, None)
    ]
    own = spec(("Eng", "eng@acme.com"))
    assert steps(own, [TargetGroup("t1", "ENG", external_id="g-eng")], Ledger(teams={"Eng": "t1"})) == [
        ("Eng", Action.UNCHANGED, "t1", None, None)
    ]
    assert steps(own, [TargetGroup("t1", "R&D", external_id="g-eng")], Ledger(teams={"Eng": "t1"})) == [
        ("Eng", Action.RENAME, "t1", "Eng", None)
    ]

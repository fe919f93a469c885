"""The plan of a team's externalId (its Google group's id) and of a mapping whose group is gone:
pure, with plain values."""

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, Result
from gwsync.directory import Directory, Person
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import make_plan, team_groups
from gwsync.sync.ports import TargetGroup

ANA = Person(id="1", primary_email="ana@acme.com")
SPEC = GoogleProvisioningSpec.model_validate(
    {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
        "teams": {
            "enabled": True,
            "mappings": [
                {"team": "Eng", "groups": ["Eng@acme.com", "contractors@acme.com"]},
                {"team": "Ops", "groups": ["ops@acme.com"]},
            ],
        },
    }
)


def org(missing: frozenset[str] = frozenset()) -> Directory:
    groups = {"eng@acme.com": frozenset({"1"}), "ops@acme.com": frozenset({"1"})}
    ids = {"eng@acme.com": "g-eng", "ops@acme.com": "g-ops"}
    return Directory("C1", "acme.com", {"1": ANA}, groups, group_ids=ids, missing=missing)


def teams(groups: list[TargetGroup], ledger: Ledger, keeps: bool = True) -> list[object]:
    plan = make_plan(org(), SPEC, ledger, [], groups, group_external_ids=keeps)
    return [(s.item.key, s.item.action, s.item.result, s.external_id) for s in plan.teams]


def test_the_first_group_of_each_mapping_gives_the_teams_external_id() -> None:
    assert team_groups(SPEC) == [["eng@acme.com", "contractors@acme.com"], ["ops@acme.com"]]
    assert teams([], Ledger()) == [
        ("Eng", Action.CREATE, Result.PLANNED, "g-eng"),
        ("Ops", Action.CREATE, Result.PLANNED, "g-ops"),
    ]
    assert teams([], Ledger(), keeps=False) == [
        ("Eng", Action.CREATE, Result.PLANNED, None),
        ("Ops", Action.CREATE, Result.PLANNED, None),
    ]


def test_a_team_lacking_its_id_gets_it_once_and_never_again_once_sent() -> None:
    groups = [TargetGroup("t1", "Eng"), TargetGroup("t2", "Ops", external_id="g-ops")]
    managed = Ledger(teams={"Eng": "t1", "Ops": "t2"})
    assert teams(groups, managed) == [
        ("Eng", Action.UPDATE, Result.PLANNED, "g-eng"),  # made by an older gwsync: written once
        ("Ops", Action.UNCHANGED, Result.PLANNED, None),
    ]
    sent = Ledger(teams={"Eng": "t1", "Ops": "t2"}, team_sources={"Eng": "g-eng"})
    assert teams(groups, sent) == [  # the target dropped it: not written at every sync
        ("Eng", Action.UNCHANGED, Result.PLANNED, None),
        ("Ops", Action.UNCHANGED, Result.PLANNED, None),
    ]


def test_a_group_carrying_the_id_is_the_team_unless_another_team_holds_it() -> None:
    renamed = [TargetGroup("t9", "Engineering (old)", external_id="g-eng")]
    assert teams(renamed, Ledger())[0] == ("Eng", Action.ADOPT, Result.PLANNED, None)
    assert teams(renamed, Ledger(teams={"Ops": "t9"}))[0] == ("Eng", Action.CREATE, Result.PLANNED, "g-eng")


def test_a_mapping_with_a_group_gone_from_the_source_fails_and_leaves_its_team() -> None:
    plan = make_plan(
        org(missing=frozenset({"contractors@acme.com"})),
        SPEC,
        Ledger(teams={"Eng": "t1"}),
        [],
        [TargetGroup("t1", "Eng", frozenset({"u1"}))],
        group_external_ids=True,
    )
    [eng, _] = plan.teams
    assert (eng.item.action, eng.item.result, eng.external_id) == (Action.UNCHANGED, Result.FAILED, None)
    assert eng.item.details == (
        "Group contractors@acme.com does not exist in this Google Workspace organization; fix the group "
        "email in members.groups or teams.mappings."
    )
    assert plan.notes == [f"Team Eng was left as it is: {eng.item.details}"]
    assert {m.team for m in plan.members} == {"Ops"}  # nothing added to or removed from Eng


def test_the_ledger_keeps_the_ids_sent_and_loads_older_ledgers() -> None:
    ledger = Ledger({"1": "a"}, {"Eng": "t1"}, team_sources={"Eng": "g-eng"})
    assert Ledger.from_json(ledger.to_json()) == ledger
    assert b'"teamSources":{"Eng":"g-eng"}' in ledger.to_json()
    assert ledger.copy() == ledger and ledger.copy().team_sources is not ledger.team_sources
    assert Ledger.from_json(b'{"version":1,"users":{},"teams":{}}').team_sources == {}

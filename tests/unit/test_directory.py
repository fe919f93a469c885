"""The walk through nested groups that the source-neutral model and the Google adapter share."""

from gwsync.directory import GroupMembers, expand, reachable

NESTED = {
    "eng@acme.example": ["platform@acme.example", "mobile@acme.example"],
    "platform@acme.example": ["eng@acme.example", "infra@acme.example"],  # a cycle back to eng
    "mobile@acme.example": ["infra@acme.example"],  # a diamond: infra is reached twice
}


def nested(group: str) -> list[str]:
    return NESTED.get(group, [])


def test_each_group_is_visited_once_depth_first_the_last_named_first() -> None:
    assert list(reachable(["eng@acme.example"], nested)) == [
        "eng@acme.example",
        "mobile@acme.example",
        "infra@acme.example",
        "platform@acme.example",
    ]


def test_a_walk_stopped_early_asks_no_more_nested_groups() -> None:
    asked: list[str] = []

    def counted(group: str) -> list[str]:
        asked.append(group)
        return nested(group)

    walk = reachable(["eng@acme.example"], counted)
    assert next(walk) == "eng@acme.example"
    assert asked == []  # asked only when the walk goes on


def test_expand_holds_everyone_for_a_group_with_the_whole_organization_and_drops_strangers() -> None:
    nesting = {
        "all@acme.example": GroupMembers(groups=("team@acme.example",), everyone=True),
        "team@acme.example": GroupMembers(users=frozenset({"u1", "stranger"}), groups=("all@acme.example",)),
    }
    assert expand(nesting, "Team@Acme.example", ["u1", "u2"]) == frozenset({"u1", "u2"})

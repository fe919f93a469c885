"""The reader keeps each group's direct members, so a report can say how a person got into a team."""

from gwsync.testing.google import GoogleEmulator

from .conftest import directory_for

AMELIE, BJORN, KENJI = "100000000000000000002", "100000000000000000003", "100000000000000000006"


def test_the_nested_path_of_each_member_is_known_through_a_diamond_and_a_cycle(
    emulator: GoogleEmulator,
) -> None:
    directory = directory_for(emulator).read(["eng@acme.example"])
    assert directory.nesting["eng@acme.example"].groups == ("platform@acme.example", "mobile@acme.example")
    assert directory.nesting["platform@acme.example"].users == frozenset({AMELIE})
    assert directory.path_to("eng@acme.example", AMELIE) == ("eng@acme.example", "platform@acme.example")
    assert directory.path_to("eng@acme.example", BJORN) == ("eng@acme.example", "mobile@acme.example")
    # core is under both mobile and platform (a diamond) and holds eng again (a cycle).
    assert directory.path_to("eng@acme.example", KENJI) == (
        "eng@acme.example",
        "mobile@acme.example",
        "core@acme.example",
    )

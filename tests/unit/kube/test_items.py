"""Item store lines: JSON lines in, the same items out, however the stream is cut."""

from __future__ import annotations

from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result
from gwsync.kube import blobs
from gwsync.kube.items import item_lines, parse_lines

ZOE = ReportItem(
    type=ItemType.USER,
    key="zoé.østergaard@acme.com",
    source_id="104857600000000000001",
    action=Action.RENAME,
    result=Result.FAILED,
    data_changed=True,
    changes=[FieldChange(field="userName", from_="zoe@acme.com", to="zoé.østergaard@acme.com")],
    details="409 Conflict: userName is already taken",
)
TEAM = ReportItem(type=ItemType.TEAM, key="Ingénierie", action=Action.CREATE, result=Result.PLANNED)


def test_lines_are_camel_case_utf8_json() -> None:
    (line,) = item_lines([ZOE])
    assert line.endswith(b"\n")
    text = line.decode()
    assert '"sourceId":"104857600000000000001"' in text and '"from":"zoe@acme.com"' in text
    assert "zoé.østergaard" in text  # accents as they are, not \u escapes


def test_items_survive_a_cut_at_every_byte() -> None:
    text = b"".join(item_lines([ZOE, TEAM, ZOE]))
    for cut in range(len(text) + 1):
        assert list(parse_lines([text[:cut], text[cut:]])) == [ZOE, TEAM, ZOE]


def test_items_survive_tiny_gzip_chunks() -> None:
    items = [ZOE, TEAM] * 50
    chunks = list(blobs.gzip_chunks(item_lines(items), size=7))
    assert list(parse_lines(blobs.gunzip_chunks(chunks))) == items

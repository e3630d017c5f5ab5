"""Load: spreadsheets' CSV dialects and encodings in (each file its own, a BOM says
UTF-8), with the line each row starts on; a missing file; fonts' characters as
fontconfig and fontTools read them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.errors import InputError
from letterforge.load import read_table
from letterforge.validate.rows import candidates_for_year

CANDS = (
    "year,name,short_name,email\n"
    "2013,the Russian Federation,Russian Federation,a@example.org\n"
    "2013,Côte d'Ivoire,Côte d'Ivoire,b@example.org; c@example.org\n"
)


def _table(write, text: str, encoding: str = "utf-8", name: str = "c.csv"):
    return read_table(write(name, text, encoding))


@pytest.mark.parametrize(
    "variant",
    [
        CANDS,
        "\ufeff" + CANDS,  # BOM
        CANDS.replace("\n", "\r\n"),  # CRLF
        CANDS.replace(",", ";").replace("b@example.org; c@", "b@example.org, c@")
        .replace("year;name", "year;name"),
        CANDS.replace(",", "\t"),
        # headers in another case, with stray spaces, and an alias (E-mail for email)
        " Year , NAME,Short Name ,E-mail\n" + CANDS.split("\n", 1)[1] + "\n\n\n",
        "year,name,short_name,Email Address\n" + CANDS.split("\n", 1)[1],
    ],
)
def test_spreadsheet_dialects_give_the_same_rows(write, variant: str) -> None:
    cands, problems = candidates_for_year(_table(write, variant), 2013)
    assert problems == []
    assert [(c.name, c.short_name, c.emails, c.slug) for c in cands] == [
        ("the Russian Federation", "Russian Federation", ("a@example.org",),
         "russian-federation"),
        ("Côte d'Ivoire", "Côte d'Ivoire", ("b@example.org", "c@example.org"), "cote-d-ivoire"),
    ]


def test_quoted_cells_with_delimiters_and_line_breaks(write) -> None:
    t = _table(write, 'year,name,short_name,email,note\n'
                      '2013,"Bolivia, Plurinational State of",Bolivia,a@example.org,"two\nlines"\n'
                      '2013,Chile,Chile,b@example.org,x\n')
    cands, problems = candidates_for_year(t, 2013)
    assert problems == []
    assert cands[0].name == "Bolivia, Plurinational State of"
    assert cands[0].fields["note"] == "two\nlines"
    assert cands[1].source.line == 4  # the line where the row starts, after the quoted break


def test_windows_1252_is_rejected_unless_named(write) -> None:
    text = "year,name,short_name,email\n2013,Côte d'Ivoire,Côte d'Ivoire,a@example.org\n"
    path = write("c.csv", text, "cp1252")
    with pytest.raises(InputError) as info:
        read_table(path)
    msg = str(info.value)
    assert "c.csv:2:" in msg and "not UTF-8" in msg and "--encoding" in msg
    cands, problems = candidates_for_year(read_table(path, encoding="cp1252"), 2013)
    assert problems == [] and cands[0].name == "Côte d'Ivoire"


def test_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")


# ----- encodings per file ----------------------------------------------------------------


def test_encoding_applies_only_to_the_files_that_are_not_utf8(write) -> None:
    """--encoding cp1252 with a cp1252 candidates file and a UTF-8 signatories file: both
    read right (it used to garble the UTF-8 one, with exit 0)."""
    from letterforge.plan import prepare

    write("candidates.csv", "year,name,short_name,email\n2013,Côte d'Ivoire,Côte d'Ivoire,"
          "a@example.org\n", "cp1252")
    write("signatories.csv", 'year,name\n2013,"Red Nacional de Promoción de la Mujer, '
          'RNPM-Perú"\n')
    shutil.copytree(ROOT / "templates", Path(write("x", "").parent) / "templates")
    base = write("x", "").parent
    inputs = Inputs(base / "candidates.csv", base / "signatories.csv",
                    base / "templates" / "letter.md", "cp1252")
    plan = prepare(inputs, Options(2013, formats=("docx",)), check_letters=False)
    assert [s.name for s in plan.signatories] == [
        "Red Nacional de Promoción de la Mujer, RNPM-Perú"]
    assert [c.name for c in plan.candidates] == ["Côte d'Ivoire"]


def test_utf8_with_bom_is_utf8_whatever_the_encoding_option(write) -> None:
    path = write("s.csv", "\ufeffyear,name\n2013,Perú\n")
    table = read_table(path, encoding="cp1252")
    assert table.rows[0].cells["name"] == "Perú"
    assert table.codec == "utf-8-sig"


def test_a_file_neither_utf8_nor_the_encoding_names_the_line(write) -> None:
    path = write("s.csv", "year,name\n2013,ok\n2013,caf\xe9 \x81\n".encode("latin-1")
                 .decode("latin-1"), "latin-1")
    with pytest.raises(InputError) as info:
        read_table(path, encoding="cp1252")  # 0x81 is not a cp1252 character
    assert info.value.problem.line == 3
    assert "neither UTF-8 nor cp1252" in info.value.problem.message


# ----- fonts --------------------------------------------------------------------------------


def test_fontconfig_charset_is_read_as_code_points() -> None:
    from letterforge.load import _charset

    assert _charset("20-22 a0 2c6-2c7\n") == frozenset({0x20, 0x21, 0x22, 0xA0, 0x2C6, 0x2C7})
    assert _charset("") is None and _charset("  \n") is None
    assert _charset("20-7e zz") is None  # not fontconfig's form: the cmap is read instead


@pytest.mark.parametrize("family", ["Liberation Serif", "Liberation Sans", "DejaVu Sans",
                                    "Noto Sans CJK JP", "Noto Sans Symbols2"])
def test_a_fonts_characters_are_its_cmaps_but_controls(family: str) -> None:
    """What fontconfig says a font covers is what fontTools reads in its cmap, C0
    controls aside (which no letter draws): the check of characters no font draws gives
    the same answers as when it read every font file."""
    import shutil
    import subprocess

    from fontTools.ttLib import TTFont

    from letterforge.load import fonts_codepoints
    from letterforge.validate.stylesheet import drawn

    if shutil.which("fc-match") is None:
        pytest.skip("no fontconfig")
    found = fonts_codepoints([family, "No Such Family Anywhere"])
    assert found["No Such Family Anywhere"] is None
    covered = found[family]
    if covered is None:
        pytest.skip(f"{family} not installed")
    path, index = subprocess.run(["fc-match", "--format", "%{file}\n%{index}", family],
                                 capture_output=True, text=True, check=True).stdout.split("\n")
    kwargs = {"fontNumber": int(index)} if path.endswith((".ttc", ".otc")) else {}
    cmap = frozenset(TTFont(path, lazy=True, **kwargs).getBestCmap())
    assert covered <= cmap
    assert not [cp for cp in cmap - covered if drawn(chr(cp))]


@pytest.mark.parametrize("front", ["a: " + "[" * 5000 + "]" * 5000,
                                   "a: " + "{b: " * 3000 + "1" + "}" * 3000])
def test_front_matter_nested_too_deeply_is_refused_not_a_crash(write, front: str) -> None:
    from letterforge.load import read_template

    path = write("templates/letter.md", f"---\n{front}\n---\nDear friends,\n")
    with pytest.raises(InputError, match="front matter is nested too deeply") as info:
        read_template(path)
    assert info.value.problem.path.endswith("letter.md")


def test_a_stylesheet_image_in_a_name_with_no_image_extension_is_left_to_the_font_check(
        write) -> None:
    """A font the stylesheet names (``src: url(font.ttf)``) is not judged as an image."""
    from letterforge.load import read_assets, read_template

    write("templates/letter.css", "@font-face { font-family: X; src: url(x.ttf) }\n")
    write("templates/x.ttf", "not a font, not an image")
    path = write("templates/letter.md", "---\nlang: en\n---\nDear friends,\n")
    _, problems = read_assets(read_template(path))
    assert not [p for p in problems if "image" in p.message]


# ----- spreadsheets (.xlsx, .ods) --------------------------------------------------------

def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """An .xlsx as Excel writes one: typed cells (numbers, dates), several sheets."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_spreadsheet_s_numbers_and_dates_read_as_the_user_typed_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    monkeypatch.chdir(tmp_path)
    path = _workbook(tmp_path / "candidates.xlsx", {"Sheet1": [
        [],  # an empty first row: the rows keep the spreadsheet's numbers
        ["Year", "Name", "Short name", "E-mail", "Joined", "Share", "Member"],
        [2013, "Mexico", "Mexico", "m@example.org", dt.date(2013, 11, 5), 0.25, True],
        [2013.0, "Côte d'Ivoire", "Côte d'Ivoire", "ci@example.org",
         dt.datetime(2013, 11, 5, 9, 30), 1.5, False]]})
    table = read_table(path, role="candidates")
    assert table.display == "candidates.xlsx:Sheet1"
    assert table.headers[:4] == ("year", "name", "short_name", "email")
    assert [r.line for r in table.rows] == [3, 4]
    first, second = (r.cells for r in table.rows)
    assert (first["year"], first["joined"], first["share"], first["member"]) == (
        "2013", "2013-11-05", "0.25", "TRUE")
    assert (second["year"], second["joined"]) == ("2013", "2013-11-05 09:30:00")
    cands, problems = candidates_for_year(table, 2013)
    assert not problems and [c.short_name for c in cands] == ["Mexico", "Côte d'Ivoire"]


def test_an_empty_cell_is_named_file_sheet_row_and_column(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _workbook(tmp_path / "candidates.xlsx", {"Sheet1": [
        ["year", "name", "short_name", "email"],
        *[[2013, f"C{i}", f"C{i}", f"c{i}@example.org"] for i in range(10)],
        [2013, "Chile", "Chile", None]]})
    _, problems = candidates_for_year(read_table(path, role="candidates"), 2013)
    assert [str(p) for p in problems] == [
        "candidates.xlsx:Sheet1:12: email: empty cell: every candidate needs an e-mail "
        "address"]


def test_the_sheet_is_the_one_named_for_the_data_or_the_one_set(tmp_path: Path) -> None:
    rows = [["year", "name"], [2013, "Org A"]]
    path = _workbook(tmp_path / "book.xlsx", {"Notes": [["a note"]], "Signatories": rows,
                                              "2012": [["year", "name"], [2012, "Old"]]})
    assert read_table(path, role="signatories").display.endswith("book.xlsx:Signatories")
    assert read_table(path, sheet="2012", role="signatories").rows[0].cells["name"] == "Old"
    with pytest.raises(InputError, match=r"has no sheet 'Sheet9' \(its sheets: Notes, "
                       r"Signatories, 2012\): correct candidates_sheet"):
        read_table(path, sheet="Sheet9", role="candidates")
    with pytest.raises(InputError, match=r"has 3 sheets with cells \(Notes, Signatories, "
                       r"2012\): name the one to read Candidates, or choose it with "
                       r"candidates_sheet"):
        read_table(path, role="candidates")


@pytest.mark.parametrize(("data", "says"), [
    (b"PK\x03\x04 not really a zip", "is not a spreadsheet letterforge can read"),
    (b"", "is not a spreadsheet letterforge can read"),
])
def test_a_damaged_spreadsheet_is_one_clear_error(tmp_path: Path, data: bytes,
                                                  says: str) -> None:
    (tmp_path / "candidates.xlsx").write_bytes(data)
    with pytest.raises(InputError, match=says):
        read_table(tmp_path / "candidates.xlsx", role="candidates")


def test_the_campaign_file_names_a_sheet_and_the_manifest_records_it(write,
                                                                     tmp_path: Path) -> None:
    from letterforge.config import CAMPAIGN_FILE, load_campaign
    from letterforge.load import read_input

    _workbook(tmp_path / "data.xlsx", {"2013 list": [["year", "name", "short_name", "email"],
                                                     [2013, "Chile", "Chile", "c@e.org"]],
                                       "Other": [["x"], [1]]})
    write(CAMPAIGN_FILE, '[inputs]\ncandidates = "data.xlsx"\ncandidates_sheet = "2013 list"\n')
    inputs = load_campaign(tmp_path).inputs()
    assert read_input(inputs, "candidates").rows[0].cells["name"] == "Chile"
    assert inputs.record()["candidates_sheet"] == "2013 list"


@pytest.mark.parametrize(("text", "line"), [
    ("year,name\r\n2013,A\x00B\r\n", 2),
    # a quoted cell over two lines: the row begins on line 2, as every problem of a row
    # is named (found by test_property_unicode with note="\n\x00")
    ('year,name,note\r\n2013,A,"first\n\x00"\r\n2013,B,x\r\n', 2),
    ('year,name,note\r\n2013,A,"one\ntwo"\r\n2013,B,"\x00"\r\n', 4),
])
def test_a_nul_byte_names_the_line_its_row_begins_on(tmp_path: Path, text: str,
                                                      line: int) -> None:
    path = tmp_path / "candidates.csv"
    path.write_bytes(text.encode())
    with pytest.raises(InputError) as caught:
        read_table(path)
    (problem,) = caught.value.problems
    assert (problem.line, "NUL" in problem.message) == (line, True)

"""Load and validate: spreadsheets' CSV dialects in, every problem out with its line."""

from __future__ import annotations

import pytest

from letterforge.errors import InputError
from letterforge.load import read_table
from letterforge.validate.rows import (
    bad_character,
    candidates_for_year,
    signatories_for_year,
    slug_for,
)

CANDS = (
    "year,name,short_name,email\n"
    "2013,the Russian Federation,Russian Federation,a@example.org\n"
    "2013,Côte d'Ivoire,Côte d'Ivoire,b@example.org; c@example.org\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Côte d'Ivoire", "cote-d-ivoire"),
        ("Türkiye", "turkiye"),
        ("Russian Federation", "russian-federation"),
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con-letter"),
        ("Viet Nam", "viet-nam"),
        ("A" * 200, "a" * 60),
    ],
)
def test_slugs_are_ascii_and_safe(text: str, expected: str) -> None:
    assert slug_for(text) == expected


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


def test_missing_columns_are_named_with_the_columns_found(write) -> None:
    _, problems = candidates_for_year(_table(write, "year,country,mail\n2013,X,a@example.org\n"),
                                      2013)
    assert len(problems) == 1
    assert problems[0].line == 1
    assert "missing columns name, short_name, email (columns found: year, country, mail)" in \
        problems[0].message


def test_every_row_problem_is_reported(write) -> None:
    t = _table(write, "year,name,short_name,email\n"
                      "2013,,X,a@example.org\n"
                      "2013,Y,Y,not an address\n"
                      "20x3,Z,Z,z@example.org\n"
                      "2013,Mexico,Mexico,m@example.org\n"
                      "2013,Mexico,mexico,m2@example.org\n"
                      "2013,Bad\u0007Name,Bad,b@example.org\n")
    _, problems = candidates_for_year(t, 2013)
    got = [(p.line, p.column) for p in problems]
    assert got == [(2, "name"), (3, "email"), (4, "year"), (6, "short_name"), (7, "name")]
    assert "already a candidate for 2013 on line 5" in problems[3].message
    assert "U+0007" in problems[4].message


def test_empty_signatory_list_for_the_year(write) -> None:
    _, problems = signatories_for_year(_table(write, "year,name\n2012,A\n"), 2013)
    assert "no signatories for 2013 (years in the file: 2012)" in problems[0].message


def test_signatories_keep_file_order_and_reject_duplicates(write) -> None:
    sigs, problems = signatories_for_year(
        _table(write, "year,name\n2013,Zeta\n2013,Alpha\n2013, zeta \n"), 2013)
    assert [s.name for s in sigs] == ["Zeta", "Alpha"]
    assert problems[0].line == 4 and "already signs" in problems[0].message


def test_bad_character() -> None:
    assert bad_character("ok\ttab", allow_newline=False) is None
    assert bad_character("two\nlines", allow_newline=True) is None
    assert bad_character("two\nlines", allow_newline=False) == "a line break"
    assert bad_character("x\u0000", allow_newline=True) == "the control character U+0000"
    # a right-to-left override shows "Mexico\u202eocixeM" reversed: refused; the marks
    # and joiners that real names use are not
    assert "U+202E" in (bad_character("Mexico\u202eocixeM", allow_newline=False) or "")
    assert "U+2067" in (bad_character("a\u2067b", allow_newline=True) or "")
    assert bad_character("\u0645\u200f\u0635\u0631", allow_newline=False) is None
    assert bad_character("\u0915\u094d\u200d\u0937", allow_newline=False) is None


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

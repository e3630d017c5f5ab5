"""The campaign file, per-file encodings, the manifest's options, new-year and diff:
inline data, no rendering."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from letterforge.config import (
    CAMPAIGN_FILE,
    Inputs,
    Options,
    SmtpSettings,
    batch_inputs,
    load_campaign,
)
from letterforge.diff import (
    PLACEHOLDER,
    compare_candidates,
    compare_signatories,
    compare_words,
    diff_years,
    html_page,
    neutralise,
    terminal_text,
)
from letterforge.errors import InputError
from letterforge.load import read_table
from letterforge.manifest import Manifest
from letterforge.models import Candidate, Signatory, Source
from letterforge.new_year import new_year

# ----- the campaign file ----------------------------------------------------------------


def test_campaign_file_is_found_in_a_parent_and_its_paths_are_its_own(write, tmp_path: Path
                                                                      ) -> None:
    write(CAMPAIGN_FILE, """
        [inputs]
        candidates = "work/c.csv"
        signatories_encoding = "cp1252"

        [output]
        folder = "exports"

        [smtp]
        host = "smtp.example.org"
        port = 2525
        security = "tls"
        user = "staff@example.org"
        """)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    campaign = load_campaign(deep)
    assert campaign.path == tmp_path / CAMPAIGN_FILE
    inputs = campaign.inputs()
    assert inputs.candidates == tmp_path / "work" / "c.csv"
    assert inputs.signatories == tmp_path / "signatories.csv"  # default, beside the file
    assert inputs.encoding_of("signatories") == "cp1252"
    assert inputs.encoding_of("candidates") is None
    assert campaign.out_root(None) == tmp_path / "exports"
    assert campaign.smtp == SmtpSettings("smtp.example.org", 2525, "tls", "staff@example.org")
    # the command line wins
    assert campaign.inputs(candidates=Path("x.csv")).candidates == Path("x.csv")
    assert campaign.inputs(encoding="latin-1").encoding_of("signatories") == "latin-1"
    assert campaign.out_root(Path("o")) == Path("o")


def test_no_campaign_file_means_the_defaults(tmp_path: Path) -> None:
    campaign = load_campaign(tmp_path)
    assert campaign.path is None
    assert campaign.inputs() == Inputs()
    assert campaign.out_root(None) == Path("out")


@pytest.mark.parametrize(("text", "line", "words"), [
    ('[inputs]\ncandidates = "c.csv"\ncandidate = "x.csv"\n', 3,
     "unknown setting 'candidate' in [inputs]"),
    ('[inputs]\n\n[smtp]\nport = "587"\n', 4, "[smtp] port is its port: write a number"),
    ('[output]\nfolder = out\n', 2, "not valid TOML"),
    ('[mail]\nhost = "x"\n', 1, "unknown setting 'mail'"),
    ('[smtp]\nsecurity = "ssl"\n', 2, "write starttls, tls or none"),
    ('[inputs]\nencoding = "klingon"\n', 2, "unknown encoding 'klingon'"),
])
def test_mistakes_in_the_campaign_file_name_the_file_and_line(
        write, tmp_path: Path, text: str, line: int, words: str) -> None:
    write(CAMPAIGN_FILE, text)
    with pytest.raises(InputError) as info:
        load_campaign(tmp_path)
    problem = info.value.problem
    assert problem.path.endswith(CAMPAIGN_FILE)
    assert problem.line == line
    assert words in problem.message


# ----- encodings per file ----------------------------------------------------------------

SIGS_UTF8 = "year,name\n2013,Red Nacional de Promoción de la Mujer, RNPM-Perú\n".replace(
    "Mujer, RNPM", "Mujer; RNPM")


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


# ----- the manifest's options --------------------------------------------------------------


def test_manifest_records_options_and_reads_them_back(tmp_path: Path) -> None:
    m = Manifest("0.1", 2014, ("pdf",), {"candidates": "ab"},
                 options={"candidates": "work/c.csv", "date": "2014-10-01",
                          "candidates_encoding": "cp1252"})
    again = Manifest.from_bytes(m.to_bytes(), "manifest.json")
    assert again.options == m.options
    assert json.loads(m.to_bytes())["options"]["date"] == "2014-10-01"
    inputs, date = batch_inputs(load_campaign(tmp_path), again.options)
    assert date == dt.date(2014, 10, 1)
    assert inputs.candidates == Path.cwd() / "work" / "c.csv"
    assert inputs.encoding_of("candidates") == "cp1252"
    assert inputs.encoding_of("signatories") is None
    # the command line wins over the manifest
    inputs, date = batch_inputs(load_campaign(tmp_path), again.options,
                                candidates=Path("other.csv"), date=dt.date(2014, 1, 2))
    assert (inputs.candidates, date) == (Path("other.csv"), dt.date(2014, 1, 2))


def test_inputs_are_recorded_relative_to_the_campaign_folder(tmp_path: Path) -> None:
    inputs = Inputs(tmp_path / "work" / "c.csv", tmp_path / "s.csv",
                    tmp_path / "templates" / "letter.md", "cp1252", root=tmp_path)
    assert inputs.record() == {
        "candidates": "work/c.csv", "signatories": "s.csv",
        "template": "templates/letter.md", "email_template": "templates/email.md",
        "candidates_encoding": "cp1252", "signatories_encoding": "cp1252"}


# ----- new-year ----------------------------------------------------------------------------

TEMPLATE = ("---\r\nlang: en-GB\r\ndate: 2013-11-05   # the day\r\ntitle: Letter of 2013\r\n"
            "---\r\nWritten on 2013-11-05 for {{ candidate.name }}.\r\n")


@pytest.fixture
def campaign(write) -> Path:
    write("candidates.csv", "year,name,short_name,email\n2013,Chile,Chile,c@example.org\n")
    write("signatories.csv", "year;name;note\r\n2012;Old Org;\r\n2013;Org A;\r\n"
          "2013;\"Org; B\";x\r\n", "cp1252")
    write("templates/letter.md", TEMPLATE)
    write("templates/letter.css", "body { }\n")
    return write("x", "").parent


def test_new_year_copies_signatories_dates_the_letter_and_archives(campaign: Path) -> None:
    before = (campaign / "signatories.csv").read_bytes()
    inputs = Inputs(campaign / "candidates.csv", campaign / "signatories.csv",
                    campaign / "templates" / "letter.md")
    report = new_year(inputs, 2014)
    after = (campaign / "signatories.csv").read_bytes()
    assert after.startswith(before)  # the rows that were there, byte for byte
    assert after[len(before):] == b"2014;Org A;\r\n2014;\"Org; B\";x\r\n"
    assert report.previous == 2013 and report.signatories_added == 2
    letter = (campaign / "templates" / "letter.md").read_bytes()
    assert letter == TEMPLATE.replace("date: 2013-11-05", "date: 2014-11-05").encode()
    assert (campaign / "templates/archive/2013/letter.md").read_bytes() == TEMPLATE.encode()
    assert (campaign / "templates/archive/2013/letter.css").is_file()
    assert any("add the 2014 candidates to" in step for step in report.todo)
    # run again: refused, nothing written
    with pytest.raises(InputError, match="2014 already has 2 signatories"):
        new_year(inputs, 2014)
    assert (campaign / "signatories.csv").read_bytes() == after


def test_new_year_date_option_and_utf8_bom_kept(campaign: Path, write) -> None:
    write("signatories.csv", "\ufeffyear,name\n2013,Perú\n")
    inputs = Inputs(campaign / "candidates.csv", campaign / "signatories.csv",
                    campaign / "templates" / "letter.md", encoding="cp1252")
    report = new_year(inputs, 2014, dt.date(2014, 10, 1))
    assert report.new_date == dt.date(2014, 10, 1)
    assert b"date: 2014-10-01   # the day" in (campaign / "templates/letter.md").read_bytes()
    assert (campaign / "signatories.csv").read_bytes() == (
        "\ufeffyear,name\n2013,Perú\n2014,Perú\n".encode())


# ----- diff ---------------------------------------------------------------------------------


def _cand(name: str, short: str, slug: str) -> Candidate:
    return Candidate(2013, name, short, ("a@example.org",), slug, {}, Source("c.csv", 2))


def _sig(name: str) -> Signatory:
    return Signatory(2013, name, {"name": name}, Source("s.csv", 2))


def test_candidates_added_removed_renamed_by_slug() -> None:
    old = [_cand("Chile", "Chile", "chile"), _cand("Peru", "Peru", "peru")]
    new = [_cand("the Republic of Chile", "Chile", "chile"), _cand("Mali", "Mali", "mali")]
    added, removed, renamed = compare_candidates(old, new)
    assert [c.slug for c in added] == ["mali"]
    assert [c.slug for c in removed] == ["peru"]
    assert [(a.name, b.name) for a, b in renamed] == [("Chile", "the Republic of Chile")]


def test_signatories_order_is_not_a_change() -> None:
    added, removed = compare_signatories([_sig("A"), _sig("B"), _sig("C")],
                                         [_sig("C"), _sig("a"), _sig("D")])
    assert (added, removed) == (["D"], ["B"])


def test_words_compare_with_the_name_neutralised() -> None:
    old = neutralise("We write to Chile.\n\nChile must act.", _cand("Chile", "Chile", "c"))
    new = neutralise("We write to the Republic of Peru.\n\nPeru must act now.",
                     _cand("the Republic of Peru", "Peru", "p"))
    changes = [c for c in compare_words(old, new) if c.op != "equal"]
    assert [(c.op, c.old, c.new) for c in changes] == [("replace", "act.", "act now.")]
    assert PLACEHOLDER in old


def test_diff_of_two_years_in_three_views(campaign: Path, write, monkeypatch) -> None:
    write("candidates.csv", "year,name,short_name,email\n2013,Chile,Chile,c@example.org\n"
          "2013,Peru,Peru,p@example.org\n2014,Mali,Mali,m@example.org\n"
          "2014,the Republic of Chile,Chile,c@example.org\n")
    write("signatories.csv", "year,name\n2013,Org A\n2013,Org B\n2014,Org B\n2014,Org C\n")
    write("templates/letter.md", "---\ndate: 2014-11-05\n---\nDear {{ candidate.name }}, "
          "we urge you to act now.\n")
    write("templates/archive/2013/letter.md", "---\ndate: 2013-11-05\n---\nDear "
          "{{ candidate.name }}, we ask you to act.\n")
    monkeypatch.chdir(campaign)
    inputs = Inputs(Path("candidates.csv"), Path("signatories.csv"),
                    Path("templates/letter.md"))
    d = diff_years(inputs, 2013, 2014)
    doc = d.as_json()
    assert [c["slug"] for c in doc["candidates"]["added"]] == ["mali"]
    assert [c["slug"] for c in doc["candidates"]["removed"]] == ["peru"]
    assert doc["candidates"]["renamed"][0]["new"]["name"] == "the Republic of Chile"
    assert doc["signatories"] == {"added": ["Org C"], "removed": ["Org A"]}
    assert d.old_template == "templates/archive/2013/letter.md"
    assert {"op": "replace", "old": "ask", "new": "urge"} in doc["letter"]["changes"]
    assert not any("Chile" in c["old"] + c["new"] for c in doc["letter"]["changes"])
    plain = terminal_text(d, colour=False)
    assert "[-ask-] {+urge+}" in plain and "\x1b[" not in plain
    assert "\x1b[31m" in terminal_text(d, colour=True)
    page = html_page(d)
    assert "<del>ask</del>" in page and "<ins>urge</ins>" in page
    for external in ("http://", "https://", "<link", "<script", "src="):
        assert external not in page

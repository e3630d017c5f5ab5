"""new-year: the signatories copied to the new year byte for byte (the file's own
delimiter, line ends and encoding), the letter's date moved on a year (or to --date),
the year's templates archived; refused when the year has signatories already. Inline
data, no rendering."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import CHILE_TEMPLATE
from letterforge.config import Inputs
from letterforge.errors import InputError
from letterforge.new_year import new_year

TEMPLATE = CHILE_TEMPLATE


@pytest.fixture
def campaign(chile: Path) -> Path:
    return chile


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


def test_the_letter_in_other_languages_moves_on_a_year_too(campaign: Path, write) -> None:
    """letter.fr.md and letter.es.md beside letter.md: each dated for the new year,
    archived with the rest, and named in what is left to do; a file that only looks
    like one (letter.backup.md) is left alone."""
    fr = TEMPLATE.replace("lang: en-GB", "lang: fr").replace("Written", "Écrit")
    write("templates/letter.fr.md", fr)
    write("templates/letter.es.md", TEMPLATE.replace("lang: en-GB", "lang: es"))
    write("templates/letter.draft-notes.md", "date: 2013-11-05\n")
    inputs = Inputs(campaign / "candidates.csv", campaign / "signatories.csv",
                    campaign / "templates" / "letter.md")
    report = new_year(inputs, 2014)
    for name in ("letter.fr.md", "letter.es.md"):
        text = (campaign / "templates" / name).read_text(encoding="utf-8")
        assert "date: 2014-11-05" in text and "date: 2013" not in text
        assert (campaign / "templates/archive/2013" / name).is_file()
        assert any(name in step for step in report.todo)
    assert (campaign / "templates/letter.fr.md").read_text(encoding="utf-8").count(
        "Écrit") == 1
    assert (campaign / "templates/letter.draft-notes.md").read_text() == "date: 2013-11-05\n"


def test_new_year_never_goes_back_in_time(campaign: Path) -> None:
    """new-year 2012 on the 2013 campaign would date the letter 2012 and copy 2013's
    signatories to 2012: refused, nothing written."""
    from letterforge.errors import UsageError

    before = {p: p.read_bytes() for p in campaign.rglob("*") if p.is_file()}
    inputs = Inputs(campaign / "candidates.csv", campaign / "signatories.csv",
                    campaign / "templates" / "letter.md")
    with pytest.raises(UsageError, match="new-year 2012 would move it back in time"):
        new_year(inputs, 2012)
    assert {p: p.read_bytes() for p in campaign.rglob("*") if p.is_file()} == before

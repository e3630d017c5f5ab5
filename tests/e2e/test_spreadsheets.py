"""Candidates and signatories kept in a spreadsheet: CSV files saved by LibreOffice Calc
as .xlsx and as .ods (tests/data/spreadsheets, saved once) render the same letters, byte
for byte, as the CSV; the manifest hashes the spreadsheet; verify, diff and new-year work
on them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from letterforge.cli import app

SAVED_BY_CALC = Path(__file__).parents[1] / "data" / "spreadsheets"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spreadsheets")
    shutil.copytree(ROOT / "templates", root / "templates")
    for name in ("candidates.csv", "candidates.xlsx", "candidates.ods", "signatories.csv",
                 "signatories.xlsx"):
        shutil.copy(SAVED_BY_CALC / name, root / name)
    return root


def _render(root: Path, out: str, *args: str) -> dict:
    result = CliRunner().invoke(app, ["render", "--year", "2013", "--out", out, "-j", "1",
                                      "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_xlsx_and_ods_render_the_letters_of_their_csv(campaign: Path, monkeypatch) -> None:
    monkeypatch.chdir(campaign)
    _render(campaign, "from-csv")
    for name in ("candidates.xlsx", "candidates.ods"):
        out = f"from-{name.replace('.', '-')}"
        _render(campaign, out, "--candidates", name, "--signatories", "signatories.xlsx")
        for letter in (campaign / "from-csv" / "2013").rglob("*"):
            if letter.is_file() and letter.parent.name in ("docx", "pdf", "email"):
                twin = campaign / out / "2013" / letter.relative_to(
                    campaign / "from-csv" / "2013")
                assert twin.read_bytes() == letter.read_bytes(), (name, letter.name)
        manifest = json.loads((campaign / out / "2013" / "manifest.json").read_text())
        assert manifest["options"]["candidates"] == name
        sources = {e["slug"]: e["source"] for e in manifest["letters"]}
        assert sources["mexico"] == f"{name}:candidates:2"  # the spreadsheet's row
    # verify renders it again from the spreadsheet the manifest names (the same reader
    # for both kinds)
    verify = CliRunner().invoke(app, ["verify", "--year", "2013", "--out",
                                      "from-candidates-ods", "-j", "1"])
    assert verify.exit_code == 0, verify.output


def test_a_mistake_in_a_spreadsheet_names_its_sheet_and_row(campaign: Path,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(campaign)
    result = CliRunner().invoke(app, ["check", "--year", "2014", "--candidates",
                                      "candidates.xlsx"])
    assert result.exit_code == 1
    assert "candidates.xlsx:candidates: no candidates for 2014" in result.output


def test_diff_and_new_year_read_spreadsheets(campaign: Path, tmp_path: Path,
                                            monkeypatch) -> None:
    root = tmp_path / "campaign"
    shutil.copytree(campaign, root, ignore=shutil.ignore_patterns("from-*"))
    (root / "letterforge.toml").write_text(
        '[inputs]\ncandidates = "candidates.ods"\nsignatories = "signatories.xlsx"\n')
    monkeypatch.chdir(root)
    before = (root / "signatories.xlsx").read_bytes()
    result = CliRunner().invoke(app, ["new-year", "2014"])
    assert result.exit_code == 0, result.output
    assert (root / "signatories.xlsx").read_bytes() == before  # read, never rewritten
    said = " ".join(result.stderr.split())
    assert "Left 40 signatories of 2013 to copy to 2014 in the spreadsheet" in said
    assert ("copy the 40 signatory rows of 2013 in signatories.xlsx:signatories with 2014 "
            "in their year column") in said
    result = CliRunner().invoke(app, ["diff", "2013", "2014", "--json"])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert [c["slug"] for c in doc["candidates"]["removed"]] == ["mexico", "maldives",
                                                                "cote-d-ivoire"]

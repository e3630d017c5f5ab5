"""A campaign year through the CLI from a folder with letterforge.toml: new-year, diff,
then a render with options that a plain verify repeats from the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from conftest import ROOT
from letterforge.cli import app

CANDIDATES_2013 = ("year,name,short_name,email\n"
                   "2013,Mexico,Mexico,mission.mexico@example.org\n"
                   "2013,Maldives,Maldives,mv@example.org\n")


def _campaign(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "templates", tmp_path / "letters")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "candidates.csv").write_text(CANDIDATES_2013, encoding="utf-8")
    shutil.copy(ROOT / "signatories.csv", tmp_path / "data" / "signatories.csv")
    (tmp_path / "letterforge.toml").write_text(
        '[inputs]\ncandidates = "data/candidates.csv"\nsignatories = "data/signatories.csv"\n'
        'template = "letters/letter.md"\n\n[output]\nfolder = "exports"\n', encoding="utf-8")
    return tmp_path


def test_new_year_then_diff_with_no_options(runner: CliRunner, tmp_path: Path,
                                            monkeypatch) -> None:
    root = _campaign(tmp_path)
    (root / "notes").mkdir()
    monkeypatch.chdir(root / "notes")  # the campaign file is found in the parent
    result = runner.invoke(app, ["new-year", "2014"])
    assert result.exit_code == 0, result.output
    assert "add the 2014 candidates to" in result.stderr
    assert (root / "letters" / "archive" / "2013" / "letter.md").is_file()
    with open(root / "data" / "candidates.csv", "a", encoding="utf-8") as fh:
        fh.write("2014,the Republic of Maldives,Maldives,mv@example.org\n"
                 "2014,Chile,Chile,cl@example.org\n")
    result = runner.invoke(app, ["diff", "2013", "2014", "--html", "changes.html", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["slug"] for c in doc["candidates"]["added"]] == ["chile"]
    assert [c["slug"] for c in doc["candidates"]["removed"]] == ["mexico"]
    assert doc["candidates"]["renamed"][0]["new"]["name"] == "the Republic of Maldives"
    assert doc["signatories"] == {"added": [], "removed": []}
    assert {"op": "replace", "old": "2013", "new": "2014"} in doc["letter"]["changes"]
    assert "<del>2013</del>" in (root / "notes" / "changes.html").read_text(encoding="utf-8")


def test_plain_verify_uses_what_the_batch_was_rendered_with(runner: CliRunner,
                                                            tmp_path: Path,
                                                            monkeypatch) -> None:
    root = _campaign(tmp_path)
    (root / "work").mkdir()
    (root / "work" / "c.csv").write_text(
        "year,name,short_name,email\n2014,Côte d'Ivoire,Côte d'Ivoire,ci@example.org\n",
        encoding="cp1252")
    monkeypatch.chdir(root)
    assert runner.invoke(app, ["new-year", "2014", "-q"]).exit_code == 0
    result = runner.invoke(app, ["render", "--candidates", "work/c.csv", "--encoding",
                                 "cp1252", "--date", "2014-10-01", "-f", "docx", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "year 2014 (the newest in c.csv)" in result.stderr
    manifest = json.loads((root / "exports" / "2014" / "manifest.json").read_text())
    assert manifest["options"]["candidates"] == "work/c.csv"
    assert manifest["options"]["date"] == "2014-10-01"
    result = runner.invoke(app, ["verify", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "for year 2014 (the newest batch in exports/)" in result.stderr
    result = runner.invoke(app, ["verify", "-j", "1", "--date", "2014-10-02"])
    assert result.exit_code == 1


def test_last_year_stays_workable_after_new_year(runner: CliRunner, tmp_path: Path,
                                                 monkeypatch) -> None:
    """After new-year 2014, the 2013 commands read the templates 2013's batch was made
    from (the archive new-year wrote), with no flag: check, verify, preview's first
    rendering and proof of 2013 work; 2014 is untouched by them. And verify names the
    input that changed, not only "manifest.json differs"."""
    root = _campaign(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LETTERFORGE_JOBS", "1")
    assert runner.invoke(app, ["render", "--year", "2013", "-q"]).exit_code == 0
    assert runner.invoke(app, ["new-year", "2014", "-q"]).exit_code == 0
    letter_2014 = (root / "letters" / "letter.md").read_bytes()
    assert b"date: 2014-11-05" in letter_2014
    for command in (["check", "--year", "2013"], ["verify", "--year", "2013"],
                    ["proof", "--year", "2013"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        assert "but the batch is for 2013" not in result.output
    said = " ".join(runner.invoke(app, ["check", "--year", "2013"]).stderr.split())
    assert "template letters/archive/2013/letter.md (en-GB, dated 5 November 2013)" in said

    from letterforge.config import load_campaign
    from letterforge.preview.state import Preview

    preview = Preview(load_campaign(root).inputs(), 2013)
    preview.refresh()
    assert preview.state()["problems"] == [], preview.state()
    assert (root / "letters" / "letter.md").read_bytes() == letter_2014

    # a signatory added to 2013 afterwards: verify says which input changed
    with open(root / "data" / "signatories.csv", "a", encoding="utf-8") as fh:
        fh.write("2013,A Late Signatory,\n")
    result = runner.invoke(app, ["verify", "--year", "2013"])
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert ("the signatories file (data/signatories.csv) changed since the batch was "
            "rendered") in said
    assert said.endswith("8 of 8 files differ, and the manifest")

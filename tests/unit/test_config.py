"""The campaign file (letterforge.toml): found in a parent folder, its paths its own, the
command line winning over it, every mistake named with its file and line; the inputs as
a batch's manifest records them."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterforge.config import CAMPAIGN_FILE, Inputs, SmtpSettings, load_campaign
from letterforge.errors import InputError


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


def test_inputs_are_recorded_relative_to_the_campaign_folder(tmp_path: Path) -> None:
    inputs = Inputs(tmp_path / "work" / "c.csv", tmp_path / "s.csv",
                    tmp_path / "templates" / "letter.md", "cp1252", root=tmp_path)
    assert inputs.record() == {
        "candidates": "work/c.csv", "signatories": "s.csv",
        "template": "templates/letter.md", "email_template": "templates/email.md",
        "candidates_encoding": "cp1252", "signatories_encoding": "cp1252"}


@pytest.mark.parametrize(("setting", "flag"), [
    ('[inputs]\ncandidates = "../elsewhere/c.csv"\n', "--candidates"),
    ('[inputs]\nsignatories = "/etc/passwd"\n', "--signatories"),
    ('[inputs]\ntemplate = "templates/../../t.md"\n', "--template"),
    ('[inputs]\nemail_template = "/tmp/email.md"\n', "--email-template"),
    ('[output]\nfolder = "/var/www/html"\n', "--out"),
])
def test_a_campaign_file_names_nothing_outside_its_folder(write, tmp_path: Path,
                                                          setting: str, flag: str) -> None:
    """A campaign file copied from someone else cannot make letterforge read a file
    elsewhere into a letter, or write the batch elsewhere: the command line can."""
    write(CAMPAIGN_FILE, setting)
    with pytest.raises(InputError) as info:
        load_campaign(tmp_path)
    problem = info.value.problem
    assert problem.line == 2
    assert "outside the campaign folder" in problem.message and flag in problem.message


def test_paths_inside_the_campaign_folder_are_fine(write, tmp_path: Path) -> None:
    write(CAMPAIGN_FILE, '[inputs]\ncandidates = "data/../data/c.csv"\n'
                         '[output]\nfolder = "./exports"\n')
    campaign = load_campaign(tmp_path)
    assert campaign.inputs().candidates == tmp_path / "data" / "../data" / "c.csv"


@pytest.mark.parametrize("value", ['"c\\u0000.csv"', '"c\\n.csv"', '""', '"  "'])
def test_a_path_with_a_control_character_or_nothing_is_refused(write, tmp_path: Path,
                                                               value: str) -> None:
    write(CAMPAIGN_FILE, f"[inputs]\ncandidates = {value}\n")
    with pytest.raises(InputError, match=r"\[inputs\] candidates is not a file name"):
        load_campaign(tmp_path)


@pytest.mark.parametrize("text", ["x = " + "[" * 5000 + "]" * 5000 + "\n",
                                  "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"])
def test_a_campaign_file_nested_too_deeply_is_refused_not_a_crash(
        write, tmp_path: Path, text: str) -> None:
    write(CAMPAIGN_FILE, text)
    with pytest.raises(InputError, match="nested too deeply"):
        load_campaign(tmp_path)

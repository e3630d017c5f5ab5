"""The scheduled export workflow: valid, scheduled and on demand, never sends, and every
letterforge command it runs exists with those options."""

from __future__ import annotations

import re
import shlex

import typer
import yaml

from conftest import ROOT
from letterforge.cli import app

WORKFLOW = ROOT / ".github" / "workflows" / "export.yml"


def _load() -> dict:
    doc = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key 'on' as True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _commands() -> list[list[str]]:
    out = []
    for job in _load()["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if "letterforge " not in line:
                    continue
                line = line.split(" > ")[0].replace('"$YEAR"', "2013")
                argv = shlex.split(line)
                assert argv[0] == ".venv/bin/letterforge", line
                out.append(argv[1:])
    return out


def test_workflow_triggers_and_year_input() -> None:
    doc = _load()
    assert doc["on"]["schedule"][0]["cron"]
    assert "year" in doc["on"]["workflow_dispatch"]["inputs"]
    steps = doc["jobs"]["export"]["steps"]
    assert any(s.get("run") == "./setup.sh" for s in steps)
    assert (ROOT / "setup.sh").is_file()
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert "out/${{ env.YEAR }}/" in upload["with"]["path"]
    # the messages carry Bcc addresses: never published
    assert "!out/${{ env.YEAR }}/email/" in upload["with"]["path"].split("\n")


def test_workflow_runs_check_then_render_and_never_sends() -> None:
    commands = _commands()
    names = [c[0] for c in commands]
    assert names.index("check") < names.index("render")
    assert "send" not in names
    runs = "\n".join(str(s.get("run", "")) for j in _load()["jobs"].values()
                     for s in j["steps"])
    assert not re.search(r"\bsend\b|smtp", runs, re.I)


def test_every_command_and_option_exists() -> None:
    group = typer.main.get_command(app)
    commands = _commands()
    assert commands
    for argv in commands:
        command = group.get_command(group.make_context("letterforge", ["--help"],
                                                       resilient_parsing=True), argv[0])
        assert command is not None, f"no command {argv[0]!r}"
        # parsing raises a usage error on an unknown option or a bad value
        command.make_context(argv[0], list(argv[1:]))

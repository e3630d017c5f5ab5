"""Incremental re-runs, parallel rendering and shards give the same bytes as one full
render, and re-render exactly what changed."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.incremental import STAT_CACHE

ROWS = [
    "2013,Mexico,Mexico,mission.mexico@example.org,Latin American and Caribbean States",
    "2013,the Russian Federation,Russian Federation,ru@example.org,Eastern European States",
    "2013,Maldives,Maldives,mv@example.org,Asia-Pacific States",
    "2013,Côte d'Ivoire,Côte d'Ivoire,ci@example.org,African States",
    "2013,Türkiye,Türkiye,tr@example.org,Western European and other States",
]


SMALL = "year,name,short_name,email,region\n" + "\n".join(ROWS) + "\n"


def render(*args: str) -> str:
    result = CliRunner().invoke(app, ["render", "--year", "2013", *args])
    assert result.exit_code == 0, result.output
    return result.stderr


def _inodes(batch: Path) -> dict[str, int]:
    return {p.relative_to(batch).as_posix(): p.stat().st_ino
            for p in batch.rglob("*") if p.is_file() and p.name != STAT_CACHE}


def _same_tree(a: Path, b: Path) -> None:
    # the stat cache is not an output (it records inodes and times)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*")
                     if p.is_file() and p.name != STAT_CACHE)
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*")
                     if p.is_file() and p.name != STAT_CACHE)
    assert files_a == files_b
    match, mismatch, errors = filecmp.cmpfiles(a, b, files_a, shallow=False)
    assert mismatch == [] and errors == []


def test_rerun_with_nothing_changed_renders_nothing(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    batch = small / "out" / "2013"
    before = _inodes(batch)
    manifest = (batch / "manifest.json").read_bytes()
    assert "Nothing to do: the 5 letters" in render()
    assert _inodes(batch) == before  # not even rewritten
    assert (batch / "manifest.json").read_bytes() == manifest


def test_changing_one_row_renders_that_letter_only(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    batch = small / "out" / "2013"
    before = _inodes(batch)
    csv = small / "candidates.csv"
    csv.write_text(csv.read_text().replace("mv@example.org", "maldives@example.org"))
    assert "Rendered 1 letter, 4 up to date" in render()
    after = _inodes(batch)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {"pdf/maldives.pdf", "docx/maldives.docx", "email/maldives.eml",
                       "batch.mbox", "outbox.csv", "manifest.json"}
    assert b"maldives@example.org" in (batch / "email" / "maldives.eml").read_bytes()


def test_force_renders_every_letter_again(small: Path) -> None:
    render("-j", "1", "-f", "docx")
    assert "Rendered 5 letters (" in render("-j", "1", "-f", "docx", "--force")


@pytest.mark.slow  # two worker processes start and import WeasyPrint: in CI (-m slow)
def test_parallel_render_gives_the_same_bytes_as_serial(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1 into out/
    render("-j", "2", "--out", "parallel")
    _same_tree(small / "out" / "2013", small / "parallel" / "2013")


def test_shards_combine_into_the_full_batch(small: Path) -> None:
    render("-j", "1", "-f", "docx", "--out", "full")
    for k in (1, 2, 3):
        render("-j", "1", "-f", "docx", "--shard", f"{k}/3", "--out", f"part{k}")
    slugs = [
        {e["slug"] for e in json.loads(
            (small / f"part{k}" / "2013" / "manifest.json").read_text())["letters"]}
        for k in (1, 2, 3)]
    assert sum(len(s) for s in slugs) == 5 and len(set().union(*slugs)) == 5
    runner = CliRunner()
    parts = [str(small / f"part{k}" / "2013") for k in (1, 2, 3)]
    result = runner.invoke(app, ["combine", *parts, "--out", "combined"])
    assert result.exit_code == 0, result.output
    _same_tree(small / "full" / "2013", small / "combined" / "2013")

    missing = runner.invoke(app, ["combine", *parts[:2], "--out", "x"])
    assert missing.exit_code == 1 and "part 3 of 3 missing" in missing.stderr
    twice = runner.invoke(app, ["combine", parts[0], parts[0], parts[1], "--out", "x"])
    assert twice.exit_code == 1 and "part 1/3 is given twice" in twice.stderr
    not_a_part = runner.invoke(app, ["combine", str(small / "full" / "2013"), "--out", "x"])
    assert not_a_part.exit_code == 1 and "not a part of a sharded render" in not_a_part.stderr
    assert not (small / "x").exists()


def test_shards_of_different_renders_are_refused(small: Path) -> None:
    render("-j", "1", "-f", "docx", "--shard", "1/2", "--out", "a")
    path = small / "templates" / "letter.md"
    path.write_text(path.read_text().replace("Excellency,", "Your Excellency,"))
    render("-j", "1", "-f", "docx", "--shard", "2/2", "--out", "b")
    result = CliRunner().invoke(app, ["combine", str(small / "a" / "2013"),
                                      str(small / "b" / "2013"), "--out", "x"])
    assert result.exit_code == 1 and "come from different renders" in result.stderr


def test_bad_shard_value(small: Path) -> None:
    result = CliRunner().invoke(app, ["render", "--year", "2013", "--shard", "3/2"])
    assert result.exit_code == 2 and "is not K/N" in result.stderr

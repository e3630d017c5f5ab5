"""The preview's state on a small campaign, rendered: the same bytes as render, a mistake
shown over the last good rendering, cleared when fixed; the page images of a PDF. No
server, no browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.config import Inputs
from letterforge.errors import UsageError

pytest.importorskip("pypdfium2")

from letterforge.preview.state import Preview  # noqa: E402

SMALL = """\
year,name,short_name,email,region
2013,Algeria,Algeria,mission.algeria@example.org,African States
2013,Mexico,Mexico,mission.mexico@example.org,Latin American and Caribbean States
"""
LINE = "We expand on each of these areas of concern below."


def test_preview_renders_the_same_bytes_as_render_and_writes_nothing(
        small: Path, runner: CliRunner) -> None:
    def tree() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in small.rglob("*")}

    before = tree()
    preview = Preview(Inputs(), 2013, candidate="Mexico")
    preview.refresh(strict=True)
    assert preview.problems == []
    assert tree() == before
    view = preview.view
    assert view is not None and view.slug == "mexico"
    result = runner.invoke(app, ["render", "--year", "2013", "--only", "Mexico", "-j", "1"])
    assert result.exit_code == 0, result.output
    for rel, data in view.files.items():
        assert (small / "out" / "2013" / rel).read_bytes() == data, rel
    state = preview.state()
    assert [c["name"] for c in state["candidates"]] == ["Algeria", "Mexico"]
    assert state["view"]["facts"]["pages"] == len(view.pdf_pages) >= 2
    assert state["view"]["facts"]["compared_with"] == "Algeria"
    assert state["view"]["email"]["headers"][1] == ["To", "mission.mexico@example.org"]


def test_a_mistake_keeps_the_last_good_rendering_until_fixed(small: Path) -> None:
    preview = Preview(Inputs(), 2013)
    preview.refresh()
    first = preview.view
    assert first is not None and first.slug == "algeria" and preview.revision == 1
    letter = small / "templates" / "letter.md"
    good = letter.read_text(encoding="utf-8")
    n = good.splitlines().index(LINE) + 1
    letter.write_text(good.replace(LINE, "We expand on {{ candidate.nmae }} below."),
                      encoding="utf-8")
    preview.refresh()
    assert preview.revision == 2
    assert preview.view is first
    assert len(preview.problems) == 1
    assert preview.problems[0].startswith(f"templates/letter.md:{n}: the template uses "
                                          "'nmae', which is not a column of the data")
    letter.write_text(good.replace(LINE, "We expand below."), encoding="utf-8")
    preview.refresh()
    assert preview.problems == []
    assert preview.view is not None and preview.view.id == first.id + 1
    assert any("We expand below." in s for s, _ in preview.view.sentences)


def test_an_unknown_candidate_stops_the_command_but_not_the_page(small: Path) -> None:
    with pytest.raises(UsageError, match="--candidate: no candidate 'Atlantis'"):
        Preview(Inputs(), 2013, candidate="Atlantis").refresh(strict=True)
    preview = Preview(Inputs(), 2013)
    preview.refresh()
    (small / "candidates.csv").write_text(SMALL.replace("Algeria", "Morocco"),
                                          encoding="utf-8")
    preview.refresh()
    assert preview.problems == ["candidates.csv: the letter shown (algeria) has no candidate "
                                "for 2013 any more; choose one of: Morocco, Mexico"]
    preview.select("mexico")
    assert preview.problems == [] and preview.view is not None
    assert preview.view.slug == "mexico"


def test_page_images_text_and_count_of_a_pdf() -> None:
    pytest.importorskip("pypdfium2")
    from weasyprint import HTML

    from letterforge.preview.pages import page_count, page_images, pdf_text

    pdf = HTML(string="<p>Excellency,</p><p style='break-before: page'>Yours</p>"
               ).write_pdf()
    assert isinstance(pdf, bytes)
    assert page_count(pdf) == 2
    images = page_images(pdf, width=200)
    assert [(i.width, i.png[:8]) for i in images] == [(200, b"\x89PNG\r\n\x1a\n")] * 2
    assert images[0].height > 200  # a portrait page
    assert len(page_images(pdf, width=100, first=1)) == 1
    assert pdf_text(pdf).split() == ["Excellency,", "Yours"]


"""The PDF engine's speed overrides never change what a letter says: a stateful
differential test.

One long-lived process (this one), as the preview is, renders a letter after every step
through the path ``render`` and ``preview`` take (``prepare``, ``plan.renderer()``);
each step first edits one input the letter depends on: the template's text (classes
that selectors look for, lists, footnotes, tables, images, words of other lengths and
languages), the stylesheet (a wide list of properties: fonts, sizes, colours, page
margins and sizes, counters, ``:has()``, every kind of unit, ``@font-face`` with a font
file whose bytes change under the same name), an image's pixels or size, the
letterhead and footer in the front matter, the letter's language, a candidate's name.
Every PDF is compared, byte for byte, with the PDF of a fresh process that has every
speed override off (``tests/fresh_pdf.py``).

The suite runs one short derandomized run (10 steps, the same every time, about 20 s).
A long run, random, for a new WeasyPrint or a changed override (3000 steps: about two
hours on two cores):

    LETTERFORGE_DIFFERENTIAL_STEPS=3000 .venv/bin/python -m pytest -n0 -m slow \\
        tests/e2e/test_pdf_engine_differential.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from fresh_pdf import FreshPDFs, FreshRenderError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from conftest import ROOT

FULL_LETTER = ROOT / "examples" / "full-letter"
FONTS = Path("/usr/share/fonts/truetype/liberation2")
STEPS = int(os.environ.get("LETTERFORGE_DIFFERENTIAL_STEPS", "10"))
STEPS_PER_RUN = min(12, STEPS)
QUICK = STEPS <= 24  # the suite's run: derandomized, the same steps every time

#: Stylesheet rules, each added at the end of letter.css (a later one can override it).
CSS_RULES = (
    "p { font-size: 10.5pt; }",
    "p { font-size: 1.05rem; }",
    "h2 { font-size: 3.5vw; }",
    "h1 { font-size: 4pvw; }",
    "p { font-size: calc(9pt + 0.3vw); }",
    "li { font-size: 1.1em; line-height: 1.5; }",
    "p { margin-bottom: 1.2ex; padding-left: 1ch; }",
    "p { line-height: 1.8; }",
    "html { font-family: 'Liberation Sans', sans-serif; }",
    "h2 { font-family: 'Liberation Mono', monospace; }",
    "blockquote { font-family: 'Noto Serif', serif; }",
    "p { color: #a00; }",
    "li::marker { color: #080; font-weight: bold; }",
    "a { color: inherit; text-decoration: none; }",
    ":root { --accent: #2a6; } h2 { color: var(--accent); }",
    "@page { margin: 20mm 30mm 25mm 30mm; }",
    "@page :first { margin-top: 62mm; }",
    "@page { size: A5; }",
    "@page { size: letter landscape; }",
    "@page { @bottom-left { content: 'Confidential'; font-size: 8pt; } }",
    "h1 { string-set: heading content(); } @page { @top-right { content: string(heading); } }",
    "body { counter-reset: para; } p { counter-increment: para; } "
    "p::before { content: counter(para) '. '; }",
    "h2 { counter-increment: section; } h2::before { content: counter(section, upper-roman) ' '; }",
    "ol { list-style-type: lower-roman; }",
    "ol { list-style-type: decimal-leading-zero; }",
    "ul { list-style-type: square; }",
    "body:has(.urgent) .page-footer { color: #c00; }",
    "body:has(.urgent) h1 { font-size: 18pt; }",
    "html:has(table) p { line-height: 1.6; }",
    "p:has(em) { font-weight: bold; }",
    "li:nth-child(odd) { color: #345; }",
    "p:first-child, li:last-child { margin-top: 9pt; }",
    "p::first-line { font-variant: small-caps; }",
    "p::first-letter { font-size: 140%; }",
    "p { letter-spacing: 0.04em; word-spacing: 1.5pt; }",
    "p { text-align: justify; }",
    "p { hyphens: auto; }",
    "h2 { text-transform: uppercase; }",
    ".letterhead { font-size: 11pt; color: #063; }",
    ".letterhead-name { font-size: 14pt; }",
    ".page-footer { font-size: 8pt; text-align: right; }",
    ".urgent { border: 1pt solid #c00; padding: 3pt; }",
    ".note { background: #ffe; font-style: italic; }",
    ".signatories li { font-size: 9pt; }",
    ":lang(fr) p { font-style: italic; }",
    "[lang|=en] h1 { color: #124; }",
    "table { font-size: 8pt; } td { padding: 5pt; }",
    "img { max-height: 30mm; }",
    "p { orphans: 4; widows: 4; }",
    "@font-face { font-family: Custom; src: url(custom.ttf); } .note { font-family: Custom; }",
    "@font-face { font-family: Custom; src: url(custom.ttf); } h2 { font-family: Custom; }",
)

#: Markdown blocks put into the letter's body (before its closing request).
BLOCKS = (
    "{.urgent}\nThis request is urgent: {{ candidate.short_name }} is asked to reply.",
    "{.note}\nA note for {{ candidate.name }} with *emphasis* and a "
    "[link](https://www.ohchr.org/).",
    "1. First point\n2. Second point for {{ candidate.short_name }}\n3. Third point",
    "1. A loose item\n\n   With a second paragraph.\n\n2. Another loose item",
    "- one bullet\n- another bullet, for {{ candidate.short_name }}",
    "### A small heading about {{ candidate.short_name }}",
    "A sentence with one more note.[^extra]\n\n"
    "[^extra]: The extra note, about {{ candidate.name }}.",
    "| Country | Treaties |\n|---|---:|\n| {{ candidate.short_name }} | {{ candidate.treaties }} |",
    "Menschenrechtsverteidigerinnen und Menschenrechtsverteidiger "
    "Menschenrechtsverteidigerinnenvereinigung.",
    "Nous demandons à {{ candidate.short_name }} de « coopérer pleinement ».",
    "> A quotation addressed to {{ candidate.short_name }}.",
    "![A second copy of the chart](chart.svg)",
    "---",
    "Words with `code`, **strong** words and ~~struck~~ words.",
    "A line with a tab\tand some    spaces.",
)

NAMES = ("X", "Mexico", "the Plurinational State of Bolivia", "Côte d'Ivoire",
         "São Tomé and Príncipe", "the United Kingdom of Great Britain and Northern Ireland")
LETTERHEAD_NAMES = ("Open Letters Network", "ON", "The International Coalition of "
                    "Non-Governmental Organisations for Human Rights")
ADDRESSES = ((), ("Rue de l'Exemple 1",), ("Rue de l'Exemple 1", "1200 Genève"),
             ("Rue de l'Exemple 1", "1200 Genève", "Switzerland"))
FOOTERS = (None, "text-only", "page {page} of {pages}", "{page}/{pages}")
LANGS = ("en-GB", "fr", "de", "es")
COLOURS = ("#1d4e89", "#c0392b", "#27ae60", "#000000")


def _front_matter(state: dict[str, Any]) -> str:
    lines = [
        "---",
        f"lang: {state['lang']}",
        "place: Geneva",
        "date: 2013-11-05",
        "to: Member States candidates to the UN Human Rights Council",
        "title: Open Letter to candidates to the Human Rights Council",
        'subject: "Open letter to {{ candidate.short_name }}"',
        "author: Open Letters Network",
        "signer:",
        "  name: A. N. Example",
        "  title: Director, Open Letters Network",
        "  signature: signature.svg",
        "  signature_alt: Signature of A. N. Example",
        "stylesheet: letter.css",
        "letterhead:",
    ]
    if state["logo"]:
        lines += ["  logo: logo.svg", '  logo_alt: "The network\'s logo"']
    lines.append(f"  name: {json.dumps(state['letterhead_name'])}")
    if state["address"]:
        lines.append("  address:")
        lines += [f"    - {json.dumps(line)}" for line in state["address"]]
    footer = state["footer"]
    if footer == "text-only":
        lines.append("footer: Open Letters Network")
    elif footer is not None:
        lines += ["footer:", "  text: Open Letters Network", f'  pages: "{footer}"']
    lines.append("---")
    return "\n".join(lines) + "\n"


class EngineDifferential(RuleBasedStateMachine):
    """Edit, render in this process, compare with a fresh process."""

    fresh: FreshPDFs
    base: Path
    count = 0

    def __init__(self) -> None:
        super().__init__()
        EngineDifferential.count += 1
        self.folder = self.base / f"campaign-{EngineDifferential.count}"
        shutil.copytree(FULL_LETTER, self.folder)
        shutil.copy(FONTS / "LiberationSans-Regular.ttf", self.folder / "templates" /
                    "custom.ttf")
        letter = (self.folder / "templates" / "letter.md").read_text(encoding="utf-8")
        body = letter.split("\n---\n", 1)[1]
        # the possessive filter is English only: the steps change the letter's language
        body = body.replace("{{ candidate.name | possessive }} record",
                            "the record of {{ candidate.name }}")
        head, tail = body.split("Your Excellency,", 1)
        self.head, self.tail = head, "Your Excellency," + tail
        self.blocks: list[str] = []
        self.css = (self.folder / "templates" / "letter.css").read_text(encoding="utf-8")
        self.rules: list[str] = []
        self.state: dict[str, Any] = {"lang": "en-GB", "logo": True,
                                      "letterhead_name": "Open Letters Network",
                                      "address": ADDRESSES[2], "footer": FOOTERS[2]}
        self.logo = (self.folder / "templates" / "logo.svg").read_text(encoding="utf-8")
        self.chart = (self.folder / "templates" / "chart.svg").read_text(encoding="utf-8")
        self.csv = (self.folder / "candidates.csv").read_text(encoding="utf-8").splitlines()
        self.renders = 0

    # ----- writing the inputs, rendering, comparing ----------------------------------

    def _write(self) -> None:
        templates = self.folder / "templates"
        body = self.head + "".join(b + "\n\n" for b in self.blocks) + self.tail
        (templates / "letter.md").write_text(_front_matter(self.state) + body,
                                             encoding="utf-8")
        (templates / "letter.css").write_text(self.css + "\n" + "\n".join(self.rules) + "\n",
                                              encoding="utf-8")
        (templates / "logo.svg").write_text(self.logo, encoding="utf-8")
        (templates / "chart.svg").write_text(self.chart, encoding="utf-8")
        (self.folder / "candidates.csv").write_text("\n".join(self.csv) + "\n",
                                                    encoding="utf-8")

    def _render_and_compare(self, which: int) -> None:
        from letterforge.config import Inputs, Options
        from letterforge.errors import LetterforgeError
        from letterforge.plan import prepare

        self._write()
        old = Path.cwd()
        os.chdir(self.folder)
        try:
            plan = prepare(Inputs(), Options(2013), check_letters=False)
        finally:
            os.chdir(old)
        everyone = list(plan.all_candidates)
        candidate = everyone[which % len(everyone)]
        # the fresh process renders meanwhile, from the same files
        fresh: dict[str, Any] = {}

        def theirs_now() -> None:
            try:
                fresh["pdf"] = self.fresh.render(self.folder, 2013, [candidate.slug],
                                                 off="all")[candidate.slug]
            except FreshRenderError as exc:
                fresh["pdf"] = exc

        worker = threading.Thread(target=theirs_now)
        worker.start()
        try:
            ours: bytes | str = plan.renderer()(candidate).files[f"pdf/{candidate.slug}.pdf"]
        except LetterforgeError as exc:  # refused on both sides alike, or a failure
            ours = str(exc)
        finally:
            worker.join()
        theirs = fresh["pdf"]
        if isinstance(theirs, FreshRenderError):
            assert theirs.input_error is not None, f"the fresh process failed: {theirs}"
            theirs = theirs.input_error
        self.renders += 1
        assert ours == theirs, (
            f"the long-lived process's PDF of {candidate.slug} differs from a fresh "
            f"process's with every speed override off, after: blocks={self.blocks!r}, "
            f"rules={self.rules!r}, state={self.state!r}")

    # ----- the steps -------------------------------------------------------------------

    @initialize(which=st.integers(0, 3))
    def first(self, which: int) -> None:
        self._render_and_compare(which)

    @rule(css=st.sampled_from(CSS_RULES), which=st.integers(0, 3))
    def add_rule(self, css: str, which: int) -> None:
        self.rules = [*self.rules[-5:], css]
        self._render_and_compare(which)

    @rule(data=st.data(), which=st.integers(0, 3))
    def remove_rule(self, data: st.DataObject, which: int) -> None:
        if self.rules:
            self.rules.pop(data.draw(st.integers(0, len(self.rules) - 1)))
        self._render_and_compare(which)

    @rule(block=st.sampled_from(BLOCKS), where=st.integers(0, 6), which=st.integers(0, 3))
    def add_block(self, block: str, where: int, which: int) -> None:
        self.blocks.insert(min(where, len(self.blocks)), block)
        self.blocks = self.blocks[-6:]
        self._render_and_compare(which)

    @rule(data=st.data(), which=st.integers(0, 3))
    def remove_block(self, data: st.DataObject, which: int) -> None:
        if self.blocks:
            self.blocks.pop(data.draw(st.integers(0, len(self.blocks) - 1)))
        self._render_and_compare(which)

    @rule(name=st.sampled_from(LETTERHEAD_NAMES), address=st.sampled_from(ADDRESSES),
          logo=st.booleans(), footer=st.sampled_from(FOOTERS), which=st.integers(0, 3))
    def furniture(self, name: str, address: tuple[str, ...], logo: bool,
                  footer: str | None, which: int) -> None:
        self.state.update(letterhead_name=name, address=address, logo=logo, footer=footer)
        self._render_and_compare(which)

    @rule(lang=st.sampled_from(LANGS), which=st.integers(0, 3))
    def language(self, lang: str, which: int) -> None:
        self.state["lang"] = lang
        self._render_and_compare(which)

    @rule(colour=st.sampled_from(COLOURS), scale=st.sampled_from((1, 2, 3)),
          chart=st.booleans(), which=st.integers(0, 3))
    def image(self, colour: str, scale: int, chart: bool, which: int) -> None:
        """Another colour (the same size), or another size, of the logo or the chart."""
        text = self.chart if chart else self.logo
        text = re.sub(r"#[0-9a-fA-F]{6}", colour, text, count=1)
        text = re.sub(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"',
                      lambda m: f'viewBox="0 0 {float(m[1]) * scale / 2:g} {m[2]}"', text,
                      count=1)
        if chart:
            self.chart = text
        else:
            self.logo = text
        self._render_and_compare(which)

    @rule(serif=st.booleans(), which=st.integers(0, 3))
    def font_file(self, serif: bool, which: int) -> None:
        """custom.ttf's bytes change under the same name (another font)."""
        name = "LiberationSerif-Regular.ttf" if serif else "LiberationSans-Regular.ttf"
        shutil.copy(FONTS / name, self.folder / "templates" / "custom.ttf")
        self._render_and_compare(which)

    @rule(row=st.integers(0, 3), name=st.sampled_from(NAMES), which=st.integers(0, 3))
    def candidate_name(self, row: int, name: str, which: int) -> None:
        cells = self.csv[row + 1].split(",")
        others = {line.split(",")[2] for i, line in enumerate(self.csv[1:]) if i != row}
        name = name if name not in others else f"{name} {row}"  # names stay unique
        quoted = f'"{name}"' if "," in name else name
        cells[1] = cells[2] = quoted
        self.csv[row + 1] = ",".join(cells)
        self._render_and_compare(which)

    @rule(which=st.integers(0, 3))
    def another_letter(self, which: int) -> None:
        self._render_and_compare(which)

    @invariant()
    def rendered(self) -> None:
        assert self.renders >= 0


@pytest.fixture(scope="module")
def fresh() -> Any:
    with FreshPDFs() as server:
        yield server


@pytest.mark.slow
def test_the_engine_changes_no_byte_of_any_letter(fresh: FreshPDFs, tmp_path: Path) -> None:
    if not FONTS.is_dir():
        pytest.skip("the Liberation fonts (fonts-liberation2) are not installed")
    EngineDifferential.fresh = fresh
    EngineDifferential.base = tmp_path
    runs = max(1, STEPS // STEPS_PER_RUN)
    run_state_machine_as_test(EngineDifferential, settings=settings(
        max_examples=runs, stateful_step_count=STEPS_PER_RUN, deadline=None,
        derandomize=QUICK, database=None, suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate]))

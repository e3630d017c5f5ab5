"""PDFs from fresh processes, quickly: the reference the engine's tests compare with.

A server process imports letterforge and WeasyPrint (plainly: ``LETTERFORGE_ENGINE_OFF``
is ``all`` while it starts) and renders nothing itself. For each request it forks a
child: a process with no render state at all (no font configuration, no stylesheet, no
remembered line or style), which installs the engine with the speed overrides the
request switches off, renders the letters asked for through the same path as
``render`` and ``preview`` (``prepare`` -> ``plan.renderer()``), writes their PDFs and
exits. Forking spares each reference the 0.7 s of a new interpreter importing
WeasyPrint; it is safe here because the server never renders (no thread, no
fontconfig state) before it forks.

    with FreshPDFs() as fresh:
        pdfs = fresh.render(folder, 2013, ["mexico"], off="all")   # {slug: bytes}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INPUT_ERROR = "letterforge error: "


class FreshRenderError(Exception):
    """The fresh process could not render: ``input_error`` is letterforge's own message
    (a LetterforgeError: the inputs are wrong), otherwise the traceback of a bug."""

    def __init__(self, text: str) -> None:
        self.input_error = text[len(INPUT_ERROR):] if text.startswith(INPUT_ERROR) else None
        super().__init__(text)


def pages_to_pdfs(css: str, pages: list[str]) -> list[bytes]:
    """HTML pages laid out one after the other in this process with one stylesheet and
    one font configuration (where the engine's speed overrides remember), through the
    engine: a later page meets what the earlier ones left."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from letterforge.writers.pdf import engine

    engine.install()
    font_config = FontConfiguration()
    sheets = [CSS(string=css, font_config=font_config)]
    out = []
    for page in pages:
        data = HTML(string=page).write_pdf(stylesheets=sheets, font_config=font_config)
        assert isinstance(data, bytes)
        out.append(data)
    return out


def _render_here(request: dict[str, Any]) -> None:
    """In the forked child: render and write each letter's PDF, then exit."""
    os.environ["LETTERFORGE_ENGINE_OFF"] = request["off"]
    out = Path(request["out"])
    if "pages" in request:
        for i, data in enumerate(pages_to_pdfs(request["css"], request["pages"])):
            (out / f"{i}.pdf").write_bytes(data)
        return
    os.chdir(request["folder"])
    from letterforge.config import Inputs, Options
    from letterforge.plan import prepare

    # the PDF only: a PDF is the same bytes whatever else the batch makes (the tests
    # that compare with this one make every format), and the DOCX would take a third of
    # the time
    plan = prepare(Inputs(), Options(request["year"], formats=("pdf",)), check_letters=False)
    renderer = plan.renderer()
    wanted = request["slugs"]
    by_slug = {c.slug: c for c in plan.all_candidates}
    for slug in wanted:
        files = renderer(by_slug[slug]).files
        (out / f"{slug}.pdf").write_bytes(files[f"pdf/{slug}.pdf"])


def serve() -> None:
    """The server: one JSON request a line on stdin, one JSON answer a line on stdout."""
    from letterforge.config import Inputs  # noqa: F401  (letterforge imported before forking)
    from letterforge.plan import prepare  # noqa: F401
    from letterforge.writers.pdf import engine

    engine.import_weasyprint()
    import letterforge.writers.pdf.render  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        err = Path(request["out"]) / "error.txt"
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                _render_here(request)
            except BaseException as exc:  # said to the parent, as text
                import traceback

                from letterforge.errors import LetterforgeError

                if isinstance(exc, LetterforgeError):
                    err.write_text(f"{INPUT_ERROR}{exc}")
                else:
                    err.write_text("".join(traceback.format_exception(exc)))
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        answer = {"status": status,
                  "error": err.read_text() if err.exists() else None}
        print(json.dumps(answer), flush=True)


class FreshPDFs:
    """A client of the server (a context manager)."""

    def __init__(self) -> None:
        env = dict(os.environ, LETTERFORGE_ENGINE_OFF="all", PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
             "import fresh_pdf; fresh_pdf.serve()", str(Path(__file__).parent)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def render(self, folder: Path, year: int, slugs: list[str], off: str = "all"
               ) -> dict[str, bytes]:
        """The PDFs of ``slugs`` from a fresh process with the speed overrides ``off``
        (names, comma-separated; ``all``; or ``""`` for none) switched off."""
        found = self._ask({"folder": str(folder), "year": year, "slugs": slugs, "off": off})
        return {slug: found[slug] for slug in slugs}

    def pages(self, css: str, pages: list[str], off: str = "all") -> list[bytes]:
        """The PDFs of HTML pages laid out one after the other (:func:`pages_to_pdfs`)
        in a fresh process with the speed overrides ``off`` switched off."""
        return [data for _, data in sorted(
            self._ask({"css": css, "pages": pages, "off": off}).items(),
            key=lambda item: int(item[0]))]

    def _ask(self, request: dict[str, Any]) -> dict[str, bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with tempfile.TemporaryDirectory(prefix="fresh-pdf-") as out:
            self.proc.stdin.write(json.dumps({**request, "out": out}) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
            if answer["status"] != 0:
                raise FreshRenderError(answer["error"] or f"status {answer['status']}")
            return {p.stem: p.read_bytes() for p in Path(out).glob("*.pdf")}

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def __enter__(self) -> FreshPDFs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The only code of letterforge that uses WeasyPrint, pydyf or tinyhtml5 beyond their public
API. Everything it changes is in this table; a contract (``pyproject.toml``,
import-linter, and ``tests/unit/test_pdf_engine_parts.py``) keeps every other module out of
those libraries' internals.

Two kinds of override:

* **fix**: changes what the PDF is, for the better; always on. Written for and checked on
  exactly the versions in :data:`PINS` (pinned in ``pyproject.toml`` and
  ``constraints.txt``). On any other version :func:`install` refuses, and no PDF is
  written: a PDF either is what the tests and the PDF/UA-1 validator checked, or it is
  not made.
* **speed**: changes how fast, never what. Each can be switched off alone
  (``LETTERFORGE_ENGINE_OFF=lines,styles``, or ``all``) and the bytes stay the same; a
  test switches each off in turn, and a stateful differential test
  (``tests/e2e/test_pdf_engine_differential.py``) edits every kind of input in one
  long-lived process, as the preview does, and compares each PDF with a fresh process
  that has every speed override off. Whatever one remembers across documents lives on
  the render context (:func:`store`), which the PDF writer keys by the content of every
  file a render reads (``render.py``: ``_context``): an edited logo, font or stylesheet
  starts a new context with nothing remembered.

Each entry: its name, kind, what it replaces (WeasyPrint 70.0, pydyf 0.13.0, tinyhtml5
2.1.0), why, and what it changes. The module of the same name holds it.

``footnote-area`` (fix; ``fixes.py``)
    Replaces ``weasyprint.layout.LayoutContext._update_footnote_area``. Footnotes stay on
    their page: WeasyPrint compares two sums of the same lengths added in other orders,
    and with a border on ``@footnote`` a rounding error of 1e-14 px moved every note of
    the page to the next. The comparison gets a tolerance of 1e-3 px.
``note-tags`` (fix; ``fixes.py``)
    Wraps ``weasyprint.pdf.tags._build_box_tree``. PDF/UA-1 wants a footnote tagged
    ``Note`` with an ``ID``, its number ``Lbl`` and the call ``Reference``; WeasyPrint
    tags them ``Span`` and ``NonStruct``. Only those tags change.
``font-dates`` (fix; ``fixes.py``)
    Replaces ``weasyprint.pdf.fonts.TTFont``. A font WeasyPrint rewrites with fontTools
    (a variable font made static, a colour font) keeps its own ``head.modified`` date:
    fontTools stamped the time of the save, and every PDF differed.
``startup`` (speed; ``startup.py``)
    Replaces ``ctypes.util.find_library`` while WeasyPrint is imported, and puts
    stand-ins for ``fontTools.subset`` and ``fontTools.varLib.instancer`` in
    ``sys.modules`` meanwhile: ``ldconfig -p`` read once for the library names WeasyPrint
    tries, and fontTools' subsetter imported when first used. Process start only.
``parse`` (speed; ``parse.py``)
    Replaces ``tinyhtml5.parse``. A letter's page parsed once per skeleton (its tags,
    the words taken out); each letter's words put back into a copy of the tree.
``styles`` (speed; ``styles.py``)
    Replaces ``weasyprint.css.StyleFor.set_computed_styles``,
    ``ComputedStyle.__missing__``, ``AnonymousStyle.__missing__`` and
    ``Style.anonymous_style``. Computed values remembered by the cascaded declarations
    and parent chain that determine them; the next letter's styles start with them.
``lines`` (speed; ``lines.py``)
    Replaces ``weasyprint.text.line_break.split_first_line`` where ``layout.inline`` and
    ``layout.preferred`` call it. A line's split remembered by its text, width and the
    value of every style property the split read.
``drawings`` (speed; ``drawings.py``)
    Replaces ``weasyprint.draw.text.draw_first_line``, ``Layout.reactivate`` and
    ``Layout.deactivate``. A line's text operators recorded once and replayed for the
    same line with the same style values, fonts and glyph widths.
``deflate`` (speed; ``deflate.py``)
    Replaces ``pydyf.zlib``, the module pydyf compresses with. The output for bytes
    compressed before in this process (font subsets, repeated pages), at pydyf's level.
``margins`` (speed; ``margins.py``)
    Replaces ``weasyprint.layout.make_margin_boxes``: the margin boxes of a page side
    are built only when one of them has content. Nothing remembered.
``flow`` (speed; ``flow.py``)
    Replaces ``weasyprint.formatting_structure.boxes.Box.is_in_normal_flow`` and
    ``avoid_collisions`` in ``weasyprint.layout.float``, ``inline`` and ``block``: the
    same answers with fewer style reads, and no float bookkeeping on a page without
    floats. Nothing remembered.

Reads, not overrides (``reads.py``): the laid-out pages (``Page._page_box``, margin and
footnote-area boxes) to refuse a letterhead, footer or footnote that would be cut.

Bumping a pin: run the whole suite and the long differential run
(``LETTERFORGE_DIFFERENTIAL_STEPS=3000``), check each replaced function against the new
version's source, then change :data:`PINS`, ``pyproject.toml`` and ``constraints.txt``
together.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ....errors import Problem, RenderError

#: The versions every override was written for and checked on.
PINS: dict[str, str] = {
    "weasyprint": "70.0",
    "pydyf": "0.13.0",
    "tinyhtml5": "2.1.0",
}

#: The environment variable that switches speed overrides off: names, comma-separated,
#: or ``all``. A tool for finding out whether one of them is to blame for a PDF.
OFF_VARIABLE = "LETTERFORGE_ENGINE_OFF"


@dataclass(frozen=True)
class Override:
    name: str
    kind: str  # "fix" or "speed"
    module: str  # the engine module whose install() puts it in place
    replaces: tuple[str, ...]


OVERRIDES: tuple[Override, ...] = (
    Override("footnote-area", "fix", "fixes",
             ("weasyprint.layout.LayoutContext._update_footnote_area",)),
    Override("note-tags", "fix", "fixes", ("weasyprint.pdf.tags._build_box_tree",)),
    Override("font-dates", "fix", "fixes", ("weasyprint.pdf.fonts.TTFont",)),
    Override("startup", "speed", "startup",
             ("ctypes.util.find_library", "fontTools.subset", "fontTools.varLib.instancer")),
    Override("parse", "speed", "parse", ("tinyhtml5.parse",)),
    Override("styles", "speed", "styles",
             ("weasyprint.css.StyleFor.set_computed_styles",
              "weasyprint.css.ComputedStyle.__missing__",
              "weasyprint.css.AnonymousStyle.__missing__",
              "weasyprint.css.Style.anonymous_style")),
    Override("lines", "speed", "lines",
             ("weasyprint.layout.inline.split_first_line",
              "weasyprint.layout.preferred.split_first_line")),
    Override("drawings", "speed", "drawings",
             ("weasyprint.draw.text.draw_first_line",
              "weasyprint.text.line_break.Layout.reactivate",
              "weasyprint.text.line_break.Layout.deactivate")),
    Override("deflate", "speed", "deflate", ("pydyf.zlib",)),
    Override("margins", "speed", "margins", ("weasyprint.layout.make_margin_boxes",)),
    Override("flow", "speed", "flow",
             ("weasyprint.formatting_structure.boxes.Box.is_in_normal_flow",
              "weasyprint.layout.*.avoid_collisions")),
)
SPEED = tuple(o.name for o in OVERRIDES if o.kind == "speed")
FIXES = tuple(o.name for o in OVERRIDES if o.kind == "fix")


class EngineMismatch(RenderError):
    """WeasyPrint or a library it uses is not the version the PDF fixes were made for."""


class EngineSettingError(RenderError):
    """LETTERFORGE_ENGINE_OFF names something that is not a speed override."""


def _remedy() -> str:
    return ("install the versions letterforge is checked with: ./setup.sh, or "
            "pip install -c constraints.txt . (in letterforge's folder)")


def _mismatch_message(found: dict[str, str | None]) -> str | None:
    wrong = {name: version for name, version in found.items() if version != PINS[name]}
    if not wrong:
        return None
    said = ", ".join(f"{name} {version or 'missing'} (needs {PINS[name]})"
                     for name, version in wrong.items())
    return (f"no PDF can be written with this installation: {said}. letterforge's PDFs "
            f"are PDF/UA-1 with the fixes made and checked for those versions; "
            f"{_remedy()}")


def installed_versions() -> dict[str, str | None]:
    """The versions of the pinned libraries as installed (read from their metadata:
    WeasyPrint is not imported)."""
    found: dict[str, str | None] = {}
    for name in PINS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def problems() -> list[Problem]:
    """What stops this installation from writing PDFs, found without importing WeasyPrint
    (``check``, ``render`` and ``preview`` say it before any letter is made)."""
    message = _mismatch_message(installed_versions())
    problems = [Problem("", None, None, message)] if message else []
    try:
        switched_off()
    except EngineSettingError as exc:
        problems.extend(exc.problems)
    return problems


def switched_off(value: str | None = None) -> frozenset[str]:
    """The speed overrides :data:`OFF_VARIABLE` switches off."""
    text = os.environ.get(OFF_VARIABLE, "") if value is None else value
    names = {n.strip() for n in text.split(",") if n.strip()}
    if "all" in names:
        return frozenset(SPEED)
    unknown = sorted(names - set(SPEED))
    if unknown:
        raise EngineSettingError(
            f"{OFF_VARIABLE}={text}: {', '.join(unknown)} is not a speed override "
            f"(the names are {', '.join(SPEED)}, or all)")
    return frozenset(names)


_lock = threading.Lock()
_installed: frozenset[str] | None = None


def _loaded_versions() -> dict[str, str | None]:
    import pydyf
    import tinyhtml5
    import weasyprint

    modules = {"weasyprint": weasyprint, "pydyf": pydyf, "tinyhtml5": tinyhtml5}
    return {name: getattr(module, "__version__", None) for name, module in modules.items()}


def import_weasyprint() -> None:
    """Import WeasyPrint (through the ``startup`` override unless it is off)."""
    import sys

    if "weasyprint" in sys.modules:
        return
    if "startup" in switched_off():
        import weasyprint  # noqa: F401
    else:
        from . import startup

        startup.import_weasyprint()


def install() -> frozenset[str]:
    """Check the versions, then put every fix and every speed override not switched off
    in place, once per process; the names installed. Raises :class:`EngineMismatch` on
    a version the fixes were not made for: nothing is installed and no PDF is made."""
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        off = switched_off()
        import_weasyprint()
        message = _mismatch_message(_loaded_versions())
        if message:
            raise EngineMismatch(message)
        import importlib

        done = []
        for override in OVERRIDES:
            if override.kind == "speed" and override.name in off:
                continue
            module = importlib.import_module(f"{__name__}.{override.module}")
            module.install(override.name)
            done.append(override.name)
        _installed = frozenset(done)
        return _installed


def status() -> dict[str, Any]:
    """What ``letterforge --version`` shows of the engine."""
    versions = installed_versions()
    try:
        off = sorted(switched_off())
    except EngineSettingError as exc:
        off = [str(exc)]
    return {"versions": versions, "pinned": dict(PINS),
            "ready": _mismatch_message(versions) is None, "speed_off": off}


def store(context: Any, attribute: str) -> dict[Any, Any]:
    """The dict kept on a render context (its font configuration) under ``attribute``,
    created empty on first use: a speed override remembers only there, so a new context
    (other stylesheet, fonts or images) starts with nothing remembered."""
    found: dict[Any, Any] | None = getattr(context, attribute, None)
    if found is None:
        found = {}
        setattr(context, attribute, found)
    return found


@dataclass(frozen=True)
class Patch:
    """One name an override replaced: where, what was there, what is there now."""

    override: str
    owner: Any  # a module or a class
    attribute: str
    original: Any
    replacement: Any

    @property
    def where(self) -> str:
        owner = getattr(self.owner, "__qualname__", None)
        module = getattr(self.owner, "__module__", None) if owner else None
        prefix = f"{module}.{owner}" if owner else self.owner.__name__
        return f"{prefix}.{self.attribute}"


#: Every name replaced in this process, in the order the overrides were installed.
PATCHES: list[Patch] = []


def patch(override: str, owner: Any, attribute: str, replacement: Any) -> Any:
    """Replace ``owner.attribute`` (a module's or a class's own) with ``replacement`` for
    the override named; the original, which the replacement may call."""
    own = vars(owner) if isinstance(owner, type) else None
    original = own[attribute] if own is not None else getattr(owner, attribute)
    setattr(owner, attribute, replacement)
    PATCHES.append(Patch(override, owner, attribute, original, replacement))
    return original


@contextmanager
def suspended(names: Iterable[str]) -> Iterator[None]:
    """Inside the block, the named overrides' originals are back in place (for measuring
    one override against the rest in one process: benchmarks/engine_ab.py)."""
    chosen = [p for p in PATCHES if p.override in set(names)]
    for p in reversed(chosen):
        setattr(p.owner, p.attribute, p.original)
    try:
        yield
    finally:
        for p in chosen:
            setattr(p.owner, p.attribute, p.replacement)

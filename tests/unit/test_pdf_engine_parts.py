"""The PDF engine's parts, without laying out a letter: the settings, the version check,
the page parse, the compression memory, the normal-flow test, the library finder, and
the contract that only the engine touches WeasyPrint's, pydyf's and tinyhtml5's
internals. (WeasyPrint's import in a fresh process: e2e/test_startup.py.)"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from letterforge.writers.pdf import engine
from letterforge.writers.pdf.engine import deflate, flow, parse, startup

PACKAGE = ROOT / "letterforge"
ENGINE = PACKAGE / "writers" / "pdf" / "engine"


# ----- settings and versions --------------------------------------------------------------


def test_speed_overrides_are_switched_off_by_name_or_all() -> None:
    assert engine.switched_off("") == frozenset()
    assert engine.switched_off("lines, styles") == {"lines", "styles"}
    assert engine.switched_off("all") == set(engine.SPEED)
    with pytest.raises(engine.EngineSettingError, match="footnote-area is not a speed"):
        engine.switched_off("footnote-area")  # a fix cannot be switched off


def test_the_pins_are_the_versions_pyproject_and_constraints_install() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    for name, version in engine.PINS.items():
        assert re.search(rf'"{name}=={re.escape(version)}"', pyproject, re.I), name
        assert re.search(rf"^{name}=={re.escape(version)}$", constraints, re.I | re.M), name


def test_another_version_is_named_with_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    found = dict(engine.PINS, weasyprint="69.0", tinyhtml5=None)
    monkeypatch.setattr(engine, "installed_versions", lambda: found)
    (problem,) = engine.problems()
    assert "weasyprint 69.0 (needs 70.0)" in problem.message
    assert "tinyhtml5 missing (needs 2.1.0)" in problem.message
    assert "./setup.sh" in problem.message and "constraints.txt" in problem.message
    monkeypatch.setattr(engine, "installed_versions", lambda: dict(engine.PINS))
    assert engine.problems() == []


# ----- the page parse -------------------------------------------------------------------


def _tree(element: Any) -> Any:
    return (element.tag, dict(element.attrib), element.text, element.tail,
            [_tree(child) for child in element])


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """(skeleton parse, tinyhtml5's own parse) of a page."""
    import tinyhtml5

    original = parse._original_parse or tinyhtml5.parse
    monkeypatch.setattr(parse, "_original_parse", original)
    return lambda page: (_tree(parse._parse(page, False)), _tree(original(page, False)))


PAGE = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<title>{t}</title>\n<meta name="description" content="{a}">\n</head>\n<body>\n'
        '<main>\n<p class="x">{t}</p>\n<p>  {t}<br>{t}  </p>\n<pre><code>\n{t}</code></pre>\n'
        '<table><tr><td>{t}</td></tr>{t}</table>\n<ol reversed><li>{t}</li></ol>\n'
        '<p><a href="{a}" title="{a}">{t}</a></p></p>{t}\n</main>\n</body>\n</html>\n{t}\n')


@pytest.mark.parametrize("words", [
    "Mexico", "Côte d&#x27;Ivoire &amp; &lt;Friends&gt;", "\xa0nbsp at the edges\xa0",
    "&nbsp;named", "&amp", "a &copy b", "tab\there", "cr\rhere", "nul\x00here",
    "bell\x07", "\ue000" "0\ue001", "non\ufffecharacter", "\u202eright-to-left\u202c",
    "   ", "", "中文 العربية", "quote &quot;x&quot;", "form\ffeed",
])
def test_pages_parse_as_tinyhtml5_parses_them(parsed: Any, words: str) -> None:
    """Whatever the words (entities letterforge never writes, control characters, CR,
    NUL, the marker characters themselves, white space only), in text and attribute
    values and in the places the HTML5 tree builder treats specially (a table, after
    the body, after <pre>): the tree is tinyhtml5's, the first time and from memory."""
    for filler in ("Mexico", words, words + " again"):
        ours, theirs = parsed(PAGE.format(t=filler, a=filler))
        assert ours == theirs, repr(filler)


@pytest.mark.parametrize("tag", [
    "<br/>", "<p class='single'>x</p>", "<P CLASS=\"upper\">x</P>", "<!-- note -->",
    "<script>var a = '<p>';</script>", "<style>p { color: red }</style>",
    "<textarea>\n<b>x</b></textarea>", "<svg><title>x</title></svg>", "<my-tag>x</my-tag>",
    "<p data-x=\"1\" hidden>x</p>", "<select><option>x</select>", "<form><p>x</form>",
    "<title><b x=\"1\" ></title>", "<title>a</title >", "<title>unclosed",
    "<title><title>x</title>",
])
def test_other_markup_parses_as_tinyhtml5_parses_it(parsed: Any, tag: str) -> None:
    ours, theirs = parsed(f"<!DOCTYPE html><html><body><p>Before</p>{tag}<p>After</p>"
                          "</body></html>")
    assert ours == theirs


def test_the_sample_letters_pages_parse_from_their_skeleton(parsed: Any) -> None:
    """Letters of the sample are parsed from their skeleton (not handed to tinyhtml5
    whole), and give tinyhtml5's tree."""
    from letterforge.config import Inputs, Options
    from letterforge.plan import prepare
    from letterforge.writers.html import render_page

    old = Path.cwd()
    os.chdir(ROOT)
    try:
        plan = prepare(Inputs(), Options(2013), check_letters=False)
    finally:
        os.chdir(old)
    renderer = plan.renderer()
    for candidate in list(plan.candidates)[:3]:
        doc = renderer.document(candidate)
        page = render_page(doc.tree, doc.meta, footnotes="float",
                           images=renderer.job.assets.images)
        assert parse._skeleton(page) is not None
        ours, theirs = parsed(page)
        assert ours == theirs


# ----- compression, normal flow ---------------------------------------------------------


def test_remembered_compression_is_zlibs_at_pydyfs_level() -> None:
    data = b"BT /F1 11 Tf (the same page of every letter) Tj ET\n" * 500
    expected = zlib.compress(data, 9)
    zlib_for_pydyf = deflate._Zlib()
    for _ in range(2):  # computed, then remembered
        compressor = zlib_for_pydyf.compressobj(level=9)
        assert compressor.compress(data) + compressor.flush() == expected
    assert deflate._deflated[(9, data)] == expected
    assert zlib_for_pydyf.decompress(expected) == data  # the rest is zlib's


def test_normal_flow_is_weasyprints_for_every_positioning() -> None:
    from weasyprint.formatting_structure.boxes import Box

    class Styled(Box):
        def __init__(self, float_: str, position: Any) -> None:  # just a style
            self.style = {"float": float_, "position": position}

    original = next((p.original for p in engine.PATCHES if p.attribute == "is_in_normal_flow"),
                    Box.is_in_normal_flow)
    for float_ in ("none", "left", "right", "inline-start", "inline-end", "footnote"):
        for position in ("static", "relative", "absolute", "fixed", "sticky",
                         ("running()", "header"), ("note()", "n")):
            box = Styled(float_, position)
            assert flow.is_in_normal_flow(box) is original(box), (float_, position)


# ----- start-up -------------------------------------------------------------------------


@pytest.mark.skipif(startup.ldconfig_finder() is None, reason="no ldconfig here")
def test_ldconfig_is_read_once_and_answers_as_ctypes_does() -> None:
    import ctypes.util

    find = startup.ldconfig_finder()
    names = ["c", "m", "z", "pango-1.0", "gobject-2.0", "gobject-2.0-0", "harfbuzz",
             "harfbuzz-subset", "harfbuzz-vector", "fontconfig", "pangoft2-1.0",
             "libpango-1.0-0", "no-such-library", "c++", "stdc++", "a.b"]
    for name in names:
        assert find(name) == ctypes.util._findSoname_ldconfig(name), name  # type: ignore[attr-defined]


# ----- the contract: only the engine reaches into the libraries ---------------------------

#: WeasyPrint's public API: what its documentation shows to import.
PUBLIC_WEASYPRINT = {"weasyprint", "weasyprint.urls", "weasyprint.text.fonts"}
#: Libraries whose internals only the engine may use (pydyf's objects: the engine and
#: the conformance finisher, which edits the finished PDF through them).
GUARDED = ("weasyprint", "pydyf", "tinyhtml5", "typer", "click")


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


def test_only_the_engine_touches_the_internals_of_weasyprint_pydyf_tinyhtml5_typer() -> None:
    """Outside ``writers/pdf/engine``: no import of a WeasyPrint module that is not its
    public API, no pydyf (but in the conformance finisher) or tinyhtml5, no private name
    (``_x``) taken from those libraries or from typer and click, no ``__class__ =``, no
    ``exec``."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ENGINE in path.parents:
            continue
        rel = path.relative_to(ROOT)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, names, line in _imports(tree):
            top = module.split(".")[0]
            if top not in GUARDED:
                continue
            if any(part.startswith("_") for part in module.split(".")) or any(
                    n.startswith("_") for n in names):
                wrong.append(f"{rel}:{line}: private name from {module}")
            if top == "weasyprint" and module not in PUBLIC_WEASYPRINT:
                wrong.append(f"{rel}:{line}: {module} is not WeasyPrint's public API")
            if top == "pydyf" and rel.name != "conformance.py":
                wrong.append(f"{rel}:{line}: pydyf outside the engine")
            if top == "tinyhtml5":
                wrong.append(f"{rel}:{line}: tinyhtml5 outside the engine")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id in GUARDED):
                wrong.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr}")
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "__class__"
                    for t in node.targets):
                wrong.append(f"{rel}:{node.lineno}: __class__ assigned")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "exec":
                wrong.append(f"{rel}:{node.lineno}: exec")
    assert not wrong, "\n".join(wrong)


def test_the_import_contracts_hold() -> None:
    """import-linter's contracts (pyproject.toml): the layers, and the engine as the
    only door to WeasyPrint's internals."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (./setup.sh --test installs it)")
    done = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_import_is_declared() -> None:
    """deptry: every third-party module letterforge imports is a declared dependency,
    and every declared dependency is used."""
    exe = Path(sys.executable).with_name("deptry")
    if not exe.exists():
        pytest.skip("deptry is not installed (./setup.sh --test installs it)")
    done = subprocess.run([str(exe), "letterforge"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_table_lists_every_name_the_engine_replaced() -> None:
    installed = engine.install()
    assert set(engine.FIXES) <= installed  # fixes are never off
    by_name = {o.name: o for o in engine.OVERRIDES}
    for patch in engine.PATCHES:
        declared = by_name[patch.override].replaces
        assert any(fnmatch.fnmatch(patch.where, pattern) for pattern in declared), (
            patch.override, patch.where, declared)
    patched = {p.override for p in engine.PATCHES}
    assert patched == {o.name for o in engine.OVERRIDES if o.name in installed} - {"startup"}
    # and the module docstring has an entry for each
    for override in engine.OVERRIDES:
        assert f"``{override.name}`` ({override.kind}; ``{override.module}.py``)" in (
            engine.__doc__ or "")

"""The fixes (see the table in ``engine/__init__.py``): footnotes on their page, footnotes
tagged as PDF/UA-1 wants, fonts rewritten by fontTools keeping their dates. Always on,
on the pinned versions only.

``_update_footnote_area`` is WeasyPrint 70.0's function (BSD-licensed, Kozea) with the
one change marked."""

from __future__ import annotations

from typing import Any

from . import patch


def install(name: str) -> None:
    {"footnote-area": _footnote_area, "note-tags": _note_tags,
     "font-dates": _font_dates}[name]()


def _footnote_area() -> None:
    from math import inf

    from weasyprint.formatting_structure import build
    from weasyprint.layout import LayoutContext
    from weasyprint.layout.block import block_level_layout

    def _update_footnote_area(self: Any) -> bool:
        if self.current_footnote_area.height != "auto" and not self.in_column:
            self.page_bottom += self.current_footnote_area.margin_height()
        self.current_footnote_area.children = self.current_page_footnotes
        if self.current_footnote_area.children:
            footnote_area = build.create_anonymous_boxes(
                self.current_footnote_area.deepcopy())
            footnote_area = block_level_layout(
                self, footnote_area, -inf, None, self.current_footnote_area.page)[0]
            self.current_footnote_area.height = footnote_area.height
            if not self.in_column:
                self.page_bottom -= footnote_area.margin_height()
            last_child = footnote_area.children[-1]
            last_child_bottom = (last_child.position_y + last_child.margin_height()
                                 - last_child.margin_bottom)
            footnote_area_bottom = (footnote_area.position_y + footnote_area.margin_height()
                                    - footnote_area.margin_bottom)
            # letterforge: "+ 1e-3" (a thousandth of a pixel) added
            return bool(last_child_bottom > footnote_area_bottom + 1e-3)
        self.current_footnote_area.height = 0
        if not self.in_column:
            self.page_bottom -= self.current_footnote_area.margin_height()
        return False

    patch("footnote-area", LayoutContext, "_update_footnote_area", _update_footnote_area)


def _note_tags() -> None:
    """Wrap the structure-tree builder (it calls itself through its module, so every
    level is wrapped): a footnote becomes ``Note`` with an ``ID``, its number ``Lbl``,
    the number in the text ``Reference``."""
    import pydyf
    import weasyprint.pdf.tags as tags
    from weasyprint.formatting_structure import boxes

    def build_box_tree(box: Any, parent: Any, pdf: Any, *args: Any) -> Any:
        tag = str(getattr(box, "element_tag", "") or "")
        for element in build(box, parent, pdf, *args):
            if tag.endswith("::footnote-call"):
                element["S"] = "/Reference"
            elif tag.endswith("::footnote-marker"):
                element["S"] = "/Lbl"
            elif isinstance(box, boxes.FootnoteAreaBox):
                for ref in element["K"]:
                    note = pdf.objects[int(ref.split()[0])] if isinstance(ref, bytes) \
                        else None
                    if isinstance(note, pydyf.Dictionary) and note.get("S") == "/Span":
                        note["S"] = "/Note"
                        note["ID"] = pydyf.String(f"lf-note-{note.number}")
            yield element

    build = patch("note-tags", tags, "_build_box_tree", build_box_tree)


def _font_dates() -> None:
    import weasyprint.pdf.fonts as pdf_fonts
    from fontTools.ttLib import TTFont

    class DatedTTFont(TTFont):
        """fontTools' TTFont, saved with the date the font has."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("recalcTimestamp", False)
            super().__init__(*args, **kwargs)

    assert pdf_fonts.TTFont is TTFont
    patch("font-dates", pdf_fonts, "TTFont", DatedTTFont)

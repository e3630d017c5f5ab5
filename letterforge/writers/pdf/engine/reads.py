"""Reads of WeasyPrint's laid-out pages (not overrides): ``Page._page_box`` and its margin
and footnote-area boxes, to refuse a letterhead, footer or footnote that would be cut.
WeasyPrint's public ``Page`` has no box tree."""

from __future__ import annotations

from typing import Any

#: The page furniture's elements (html.furniture): front-matter key, what it is, where.
_FURNITURE_BOXES = {"letterhead": ("letterhead", "the letterhead", "top"),
                    "page-footer": ("footer", "the running footer", "bottom")}


def furniture_overflow(document: Any) -> tuple[str, str] | None:
    """(front-matter key, message) when the letterhead or the running footer is taller
    than the page margin that holds it: WeasyPrint would draw it past the page's edge
    (lines of the letterhead lost) or over the text and the footnotes. None when both
    fit."""
    for page in document.pages:
        for margin_box in page._page_box.children:
            if not getattr(margin_box, "at_keyword", None) or not margin_box.children:
                continue
            kids = margin_box.children
            css_class = (getattr(kids[0], "element", None) is not None
                         and kids[0].element.get("class")) or ""
            found = next((v for k, v in _FURNITURE_BOXES.items()
                          if k in str(css_class).split()), None)
            if found is None:
                continue
            top = min(k.position_y for k in kids)
            bottom = max(k.position_y + k.margin_height() for k in kids)
            box_top = margin_box.position_y
            box_bottom = box_top + margin_box.margin_height()
            if top < box_top - 0.5 or bottom > box_bottom + 0.5:
                key, what, where = found
                need = (bottom - top) * 0.75
                room = margin_box.margin_height() * 0.75
                return key, (f"{what} is {need:.0f} pt tall, but the page's {where} margin "
                             f"holds {room:.0f} pt: it would be cut at the page's edge or "
                             f"cover the text; shorten it (front matter '{key}:'), or give "
                             f"@page{' :first' if where == 'top' else ''} a larger "
                             f"margin-{where} in the stylesheet")
    return None


def footnote_overflow(document: Any) -> tuple[str, str] | None:
    """(None, message) when a page's footnotes are taller than the page: WeasyPrint draws
    them upwards from the page's foot, past its top, and the first lines are lost (a
    note of 3,000 words printed half its words). None when every page's notes fit."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        for area in page_box.children:
            if isinstance(area, FootnoteAreaBox) and area.children \
                    and area.position_y < page_box.content_box_y() - 0.5:
                words = " ".join(" ".join(_box_text(area).split()).split(" ")[:8])
                return "", (f"the footnotes of page {number} are taller than the page and "
                            f"would be cut (the note beginning {words!r}): shorten the "
                            "note, or split it into several")
    return None


def _box_text(box: Any) -> str:
    text = getattr(box, "text", None)
    if isinstance(text, str):
        return text
    return " ".join(_box_text(child) for child in getattr(box, "children", ()))

"""The ``flow`` speed override: normal flow and float placement asked more cheaply (see the
table in ``engine/__init__.py``). Nothing is remembered.

``Box.is_in_normal_flow`` asks five methods in turn (floated, absolutely positioned,
running, footnote, note), each reading the style again: thousands of calls a letter
(page breaks, margins, page names ask it of every child). :func:`is_in_normal_flow`
reads the same two style values once and gives the same answer.

``layout.float.avoid_collisions`` places every line box and block between the floats
of the page; with no float on it (a letter's pages have none) it still builds keyword
lists and scans the empty list of shapes. :func:`avoid_collisions` does the arithmetic
of that case in the same order, with WeasyPrint's assertion on the box's kind, and
hands any page with floats, and right-to-left lines, to WeasyPrint.
"""

from __future__ import annotations

from typing import Any

from . import patch

_NOT_IN_FLOW_FLOATS = frozenset(("left", "right", "inline-start", "inline-end", "footnote"))
_original_avoid_collisions: Any = None
_boxes: Any = None  # weasyprint.formatting_structure.boxes


def is_in_normal_flow(box: Any) -> bool:
    """``Box.is_in_normal_flow``: not floated, absolutely positioned, running, a footnote
    or a note."""
    style = box.style
    if style["float"] in _NOT_IN_FLOW_FLOATS:
        return False
    position = style["position"]
    if position in ("absolute", "fixed"):
        return False
    return position[0] not in ("running()", "note()")


def avoid_collisions(context: Any, box: Any, containing_block: Any,
                     outer: bool = True) -> Any:
    """``layout.float.avoid_collisions``, short on a page without floats."""
    if context.excluded_shapes:
        return _original_avoid_collisions(context, box, containing_block, outer)
    position_y = box.position_y if outer else box.border_box_y()
    if box.border_height() == 0 and box.is_floated():
        return 0, position_y, containing_block.width
    if box.style["float"] == "none" and containing_block.style["direction"] == "rtl":
        return _original_avoid_collisions(context, box, containing_block, outer)
    max_left_bound = containing_block.content_box_x()
    max_right_bound = max_left_bound + containing_block.width
    if not outer:
        max_left_bound += box.margin_left
        max_right_bound -= box.margin_right
    boxes = _boxes
    assert (
        box.is_floated() or
        isinstance(box, boxes.LineBox) or
        box.is_table_wrapper or
        isinstance(box, boxes.BlockReplacedBox) or
        box.establishes_formatting_context())
    position_x = max_left_bound
    available_width = max_right_bound - max_left_bound
    if not outer:
        position_x -= box.margin_left
        position_y -= box.margin_top
    return position_x, position_y, available_width


def install(name: str) -> None:
    global _original_avoid_collisions, _boxes
    import weasyprint.layout.block as block
    import weasyprint.layout.float as floats
    import weasyprint.layout.inline as inline
    from weasyprint.formatting_structure import boxes

    _boxes = boxes
    patch("flow", boxes.Box, "is_in_normal_flow", is_in_normal_flow)
    _original_avoid_collisions = floats.avoid_collisions
    for module in (floats, inline, block):  # layout/replaced.py imports it at each call
        assert module.avoid_collisions is _original_avoid_collisions
        patch("flow", module, "avoid_collisions", avoid_collisions)

"""The ``percentages`` speed override: a box's used lengths resolved in one function (see the
table in ``engine/__init__.py``). Nothing is remembered.

``layout.percent.resolve_percentages`` runs for every box laid out (hundreds per page)
and, for each of its sixteen lengths, calls ``resolve_one_percentage``, which calls
``percentage``: two Python calls and two style lookups per length.
:func:`resolve_percentages` is the same function with those two calls written out in
one loop: the same lengths in the same order, the same expressions
(``refer_to * value.value / 100``), the same values set on the box; a ``calc()``
value (no unit) still goes through WeasyPrint's ``percentage``.
"""

from __future__ import annotations

from math import inf
from typing import Any

from . import patch

_percent: Any = None  # weasyprint.layout.percent
_check_math: Any = None
_box_class: Any = None
_page_class: Any = None

#: WeasyPrint's resolve_one_percentage calls: (length, reference); "cb_width",
#: "maybe_height" and "cb_height" name the references computed first.
_WIDTHS = (("margin_left", 0), ("margin_right", 0), ("margin_top", 1), ("margin_bottom", 1),
           ("padding_left", 0), ("padding_right", 0), ("padding_top", 1),
           ("padding_bottom", 1), ("width", 0), ("min_width", 0), ("max_width", 0))
_HEIGHTS = (("height", 2), ("min_height", 2), ("max_height", 2))
_BORDERS = ("border_top_width", "border_right_width", "border_bottom_width",
            "border_left_width")


def _resolve(box: Any, style: Any, name: str, refer_to: Any) -> None:
    """``resolve_one_percentage(box, name, refer_to)``, written out."""
    value = style[name]
    if value is None or value == "auto":
        used = value
    else:
        unit = getattr(value, "unit", None)
        if unit is None:
            used = _percent.percentage(value, style, refer_to)
        elif unit == "%":
            used = refer_to * value.value / 100
        else:
            used = value.value
    if used == "auto" and name in ("min_width", "min_height"):
        used = 0
    setattr(box, name, used)


def resolve_percentages(box: Any, containing_block: Any) -> None:
    """WeasyPrint 70.0's ``layout.percent.resolve_percentages``, its calls written out."""
    if isinstance(containing_block, _box_class):
        cb_width = containing_block.width
        cb_height = containing_block.height
    else:
        cb_width, cb_height = containing_block
    maybe_height = cb_height if isinstance(box, _page_class) else cb_width
    references = (cb_width, maybe_height, cb_height)
    style = box.style
    for name, reference in _WIDTHS:
        _resolve(box, style, name, references[reference])
    if cb_height == "auto":
        height = style["height"]
        if height == "auto" or _check_math(height) or height.unit == "%":
            box.height = "auto"
        else:
            assert height.unit.lower() == "px"
            box.height = height.value
        _resolve(box, style, "min_height", 0)
        _resolve(box, style, "max_height", inf)
    else:
        for name, reference in _HEIGHTS:
            _resolve(box, style, name, references[reference])
    collapse = style["border_collapse"] == "collapse"
    for prop in _BORDERS:
        if not (collapse and hasattr(box, prop)):
            setattr(box, prop, style[prop])
    _percent.adjust_box_sizing(box, "width")
    _percent.adjust_box_sizing(box, "height")


#: The modules of WeasyPrint 70.0 that import ``resolve_percentages`` by name.
_USERS = ("percent", "absolute", "block", "column", "float", "grid", "inline", "page",
          "table")


def install(name: str) -> None:
    global _percent, _check_math, _box_class, _page_class
    import importlib

    import weasyprint.layout.percent as percent
    from weasyprint.css.functions import check_math
    from weasyprint.formatting_structure.boxes import Box, PageBox

    _percent, _check_math, _box_class, _page_class = percent, check_math, Box, PageBox
    original = percent.resolve_percentages
    for module in [importlib.import_module(f"weasyprint.layout.{m}") for m in _USERS]:
        assert module.resolve_percentages is original
        patch("percentages", module, "resolve_percentages", resolve_percentages)

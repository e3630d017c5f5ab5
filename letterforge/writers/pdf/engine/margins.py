"""The ``margins`` speed override: a page's margin boxes built only for the sides that have
content (see the table in ``engine/__init__.py``). Nothing is remembered.

For every page, WeasyPrint's ``layout.page.make_margin_boxes`` builds all sixteen margin
boxes (style, box, percentages) and then throws away every side where none has content;
a letter's pages have content in one or two (the letterhead, the running footer).
:func:`make_margin_boxes` is WeasyPrint 70.0's function with one change, between the
``# letterforge:`` comments: a side (or corner) is built only when one of its boxes has
content (``content`` not ``normal``, ``inhibit`` or ``none``: WeasyPrint's own test, on
the same computed style). Building a box without content has one effect that outlives
it, ``_standardize_page_based_counters`` on its style; that is still done for every
box, in the same order.

WeasyPrint is BSD-licensed; :func:`make_margin_boxes` is its code (Kozea, 2011-2025)
with the change marked.
"""

from __future__ import annotations

import copy
from typing import Any

from . import patch

_page: Any = None  # weasyprint.layout.page

_SIDES = (("top", ("left", "center", "right")), ("bottom", ("left", "center", "right")),
          ("left", ("top", "middle", "bottom")), ("right", ("top", "middle", "bottom")))
_CORNERS = ("@top-left-corner", "@top-right-corner", "@bottom-left-corner",
            "@bottom-right-corner")


def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:  # noqa: C901
    """WeasyPrint 70.0's ``layout.page.make_margin_boxes``, changed between the
    ``# letterforge:`` comments (its structure kept, to compare with upstream)."""
    P = _page
    boxes, build = P.boxes, P.build
    resolve_percentages = P.resolve_percentages
    compute_variable_dimension = P.compute_variable_dimension
    compute_fixed_dimension = P.compute_fixed_dimension
    margin_box_content_layout = P.margin_box_content_layout

    # letterforge: WeasyPrint's first lines of make_box, on their own
    def style_of(at_keyword: str) -> Any:
        style = context.style_for(page.page_type, at_keyword)
        if style is None:
            # doesn't affect counters
            style = page.style.anonymous_style
        P._standardize_page_based_counters(style, at_keyword)
        return style

    def generated(style: Any) -> bool:
        return style['content'] not in ('normal', 'inhibit', 'none')
    # letterforge: end

    def make_box(at_keyword: str, containing_block: Any, style: Any) -> Any:
        # letterforge: the style comes from style_of (was computed here)
        box = boxes.MarginBox(at_keyword, style)
        # Empty boxes should not be generated, but they may be needed for
        # the layout of their neighbors.
        box.is_generated = style['content'] not in (
            'normal', 'inhibit', 'none')
        if box.is_generated:
            # @margins mustn't manipulate page-context counters
            margin_state = copy.deepcopy(state)
            quote_depth, counter_values, counter_scopes, _page_groups = margin_state
            counter_scopes.append(set())
            build.update_counters(margin_state, box.style)
            box.children = build.content_to_boxes(
                box.style, box, quote_depth, counter_values,
                context.get_image_from_uri, context.target_collector,
                context.counter_style, context, page)
            box.process_whitespace()
            box.process_text_transform()
            box = build.create_anonymous_boxes(box)
        resolve_percentages(box, containing_block)
        if not box.is_generated:
            box.width = box.height = 0
            for side in ('top', 'right', 'bottom', 'left'):
                box._reset_spacing(side)
        return box

    margin_top = page.margin_top
    margin_bottom = page.margin_bottom
    margin_left = page.margin_left
    margin_right = page.margin_right
    max_box_width = page.border_width()
    max_box_height = page.border_height()

    # bottom right corner of the border box
    page_end_x = margin_left + max_box_width
    page_end_y = margin_top + max_box_height

    # letterforge: every margin box's style first, in WeasyPrint's order (each
    # standardised once, as make_box did)
    sides = {prefix: [style_of(f'@{prefix}-{suffix}') for suffix in suffixes]
             for prefix, suffixes in _SIDES}
    corners = {at_keyword: style_of(at_keyword) for at_keyword in _CORNERS}
    # letterforge: end

    generated_boxes = []

    for prefix, vertical, containing_block, position_x, position_y in (
        ('top', False, (max_box_width, margin_top),
            margin_left, 0),
        ('bottom', False, (max_box_width, margin_bottom),
            margin_left, page_end_y),
        ('left', True, (margin_left, max_box_height),
            0, margin_top),
        ('right', True, (margin_right, max_box_height),
            page_end_x, margin_top),
    ):
        if vertical:
            suffixes = ['top', 'middle', 'bottom']
            fixed_outer, variable_outer = containing_block
        else:
            suffixes = ['left', 'center', 'right']
            variable_outer, fixed_outer = containing_block
        # letterforge: the boxes of a side are built only when one has content
        styles = sides[prefix]
        if not any(generated(style) for style in styles):
            continue
        side_boxes = [
            make_box(f'@{prefix}-{suffix}', containing_block, style)
            for suffix, style in zip(suffixes, styles, strict=True)]
        # letterforge: end
        if not any(box.is_generated for box in side_boxes):
            continue
        # We need the three boxes together for the variable dimension:
        compute_variable_dimension(
            context, side_boxes, vertical, variable_outer)
        for box, offset in zip(side_boxes, [0, 0.5, 1], strict=True):
            if not box.is_generated:
                continue
            box.position_x = position_x
            box.position_y = position_y
            if vertical:
                box.position_y += offset * (
                    variable_outer - box.margin_height())
            else:
                box.position_x += offset * (
                    variable_outer - box.margin_width())
            compute_fixed_dimension(
                context, box, fixed_outer, not vertical,
                prefix in ('top', 'left'))
            generated_boxes.append(box)

    # Corner boxes

    for at_keyword, cb_width, cb_height, position_x, position_y in (
        ('@top-left-corner', margin_left, margin_top, 0, 0),
        ('@top-right-corner', margin_right, margin_top, page_end_x, 0),
        ('@bottom-left-corner', margin_left, margin_bottom, 0, page_end_y),
        ('@bottom-right-corner', margin_right, margin_bottom,
            page_end_x, page_end_y),
    ):
        # letterforge: a corner is built only when it has content
        style = corners[at_keyword]
        if not generated(style):
            continue
        box = make_box(at_keyword, (cb_width, cb_height), style)
        # letterforge: end
        if not box.is_generated:
            continue
        box.position_x = position_x
        box.position_y = position_y
        compute_fixed_dimension(
            context, box, cb_height, True, 'top' in at_keyword)
        compute_fixed_dimension(
            context, box, cb_width, False, 'left' in at_keyword)
        generated_boxes.append(box)

    for box in generated_boxes:
        yield margin_box_content_layout(context, page, box)


def install(name: str) -> None:
    global _page
    import weasyprint.layout as layout
    import weasyprint.layout.page as page

    _page = page
    assert layout.make_margin_boxes is page.make_margin_boxes
    patch("margins", layout, "make_margin_boxes", make_margin_boxes)

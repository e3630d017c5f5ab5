"""The ``backgrounds`` speed override: boxes with nothing to paint skip the background
layout (see the table in ``engine/__init__.py``). Nothing outlives the document.

After layout, ``layout.background.layout_box_backgrounds`` visits every box of every
page: it resolves the box's corner radii, then reads the border image, the mask border,
visibility, the background images and colour and the shadow, to find that almost every
box of a letter has nothing to paint (``box.background = None``). Whether a style has
nothing to paint and zero radii (WeasyPrint's "short track" for radii) follows from the
style's values alone: it is worked out once per style object (a style belongs to one
document) and kept on it. A box whose style has nothing to paint gets exactly what
WeasyPrint's function gives it: the four radii ``(0, 0)``, its children visited in
order, no background. Any other box, the page itself and the root box painted with
another box's style (the canvas) go through WeasyPrint's function.
"""

from __future__ import annotations

from typing import Any

from . import patch

_PLAIN = "_letterforge_plain_background"
_RADII = ("border_top_left_radius", "border_top_right_radius",
          "border_bottom_right_radius", "border_bottom_left_radius")
_original: Any = None
_get_color: Any = None


def _nothing_to_paint(style: Any) -> bool:
    plain = style.__dict__.get(_PLAIN)
    if plain is None:
        zero = (0, "px")
        plain = (
            all(zero in style[name] for name in _RADII)
            and style["border_image_source"][0] == "none"
            and style["mask_border_source"][0] == "none"
            and not style["box_shadow"]
            and (style["visibility"] == "hidden" or (
                not any(type_ == "url" or value
                        for type_, value in style["background_image"])
                and _get_color(style, "background_color").alpha == 0)))
        style.__dict__[_PLAIN] = plain
    return bool(plain)


def layout_box_backgrounds(page: Any, box: Any, get_image_from_uri: Any,
                           layout_children: bool = True, style: Any = None) -> Any:
    """WeasyPrint 70.0's ``layout_box_backgrounds``, with a short way for boxes that have
    nothing to paint (see the module)."""
    if box is page or style is not None or not _nothing_to_paint(box.style):
        return _original(page, box, get_image_from_uri, layout_children, style)
    for name in _RADII:
        setattr(box, name, (0, 0))
    if layout_children:
        for child in box.all_children():
            layout_box_backgrounds(page, child, get_image_from_uri)
    box.background = None
    return None


def install(name: str) -> None:
    global _original, _get_color
    import weasyprint.layout.background as background
    from weasyprint.draw.color import get_color

    _get_color = get_color
    _original = patch("backgrounds", background, "layout_box_backgrounds",
                      layout_box_backgrounds)

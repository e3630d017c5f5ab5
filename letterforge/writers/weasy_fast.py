"""Work WeasyPrint and pydyf do twice or for nothing, skipped (WeasyPrint 70.0, pydyf
0.13.0 only; the PDFs are byte-identical, which tests/unit/test_pdf_speed.py checks).

Patches, each installed only on the version it was read from, and each switched
off inside :func:`letterforge.writers.weasy_cache.disabled` (the tests' plain run):

* **Serialising each PDF object once.** With a PDF identifier (letterforge always
  gives one: reproducible files), ``pydyf.PDF.write`` writes every object and then,
  to hash them for the identifier, asks every object for its bytes again
  (``b''.join(obj.data for obj in self.objects)``): every dictionary, array and string
  serialised twice, every stream joined (and its compression looked up) twice. Nothing
  changes an object between the two passes (the pass only sets ``offset``, which no
  object's bytes contain), so during one ``write`` each object's ``data`` is kept the
  first time it is computed and handed back after. The object itself is kept with its
  bytes, so that a temporary object freed during the write cannot lend its ``id`` to
  another one.

* **Margin boxes nobody asked for.** For every page, ``layout.page.make_margin_boxes``
  builds all sixteen margin boxes (style, box, percentages) and then throws away every
  side where none has content; a letter's pages have content in two of them (the
  letterhead and the running footer). :func:`make_margin_boxes` is WeasyPrint 70.0's
  function with one change: a side (or corner) is built only when one of its boxes has
  content (``content`` not ``normal``, ``inhibit`` or ``none``: WeasyPrint's own test,
  on the same computed style). The one side effect of building a box that outlives it,
  ``_standardize_page_based_counters`` on the margin box's style (shared by the page's
  other margin boxes of that name and idempotent), is still applied to every box, in
  the same order.

WeasyPrint is BSD-licensed; :func:`make_margin_boxes` is its code (Kozea, 2011-2025)
with the change marked.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
from collections import OrderedDict
from html import unescape
from typing import Any

from . import weasy_cache

FAST_WEASYPRINT = "70.0"
FAST_PYDYF = "0.13.0"
FAST_TINYHTML5 = "2.1.0"

_installed: bool | None = None
_memo: dict[int, tuple[Any, bytes]] | None = None


def _memoized(getter: Any) -> property:
    def data(self: Any) -> bytes:
        memo = _memo
        if memo is None:
            result: bytes = getter(self)
            return result
        found = memo.get(id(self))
        if found is None:
            found = memo[id(self)] = (self, getter(self))
        return found[1]

    return property(data)


def _install_pydyf() -> bool:
    import pydyf

    if getattr(pydyf, "__version__", None) != FAST_PYDYF:
        return False
    classes = (pydyf.Dictionary, pydyf.Stream, pydyf.String, pydyf.Array)
    if not all(isinstance(vars(cls).get("data"), property) for cls in classes):
        return False
    for cls in classes:
        cls.data = _memoized(vars(cls)["data"].fget)
    original_to_bytes = pydyf._to_bytes

    def to_bytes(item: Any) -> bytes:
        """``pydyf._to_bytes`` with its commonest cases first: bytes as they are, an
        exact ``str`` or ``int`` through its last line (``str(item).encode('ascii')``,
        which is what it does for them after three ``isinstance`` tests); anything
        else (floats, PDF objects, subclasses) through pydyf's own function."""
        if not weasy_cache._active:
            return original_to_bytes(item)
        kind = type(item)
        if kind is bytes:
            return item
        if kind is str or kind is int:
            return str(item).encode("ascii")
        result: bytes = original_to_bytes(item)
        return result

    pydyf._to_bytes = to_bytes
    write = pydyf.PDF.write

    def write_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _memo
        if not weasy_cache._active or _memo is not None:
            return write(self, *args, **kwargs)
        _memo = {}
        try:
            return write(self, *args, **kwargs)
        finally:
            _memo = None

    pydyf.PDF.write = write_once
    return True


def _install_margin_boxes() -> bool:
    import weasyprint
    import weasyprint.layout as layout
    import weasyprint.layout.page as page

    global _original_margin_boxes, _page
    if (weasyprint.__version__ != FAST_WEASYPRINT
            or getattr(layout, "make_margin_boxes", None) is not page.make_margin_boxes):
        return False
    _original_margin_boxes = page.make_margin_boxes
    _page = page
    layout.make_margin_boxes = make_margin_boxes
    return True


def install() -> bool:
    """Install both once per process; whether they are on."""
    global _installed
    if _installed is None:
        # each patch checks its own library's version; neither depends on the other
        pydyf_on = _install_pydyf()
        boxes_on = _install_margin_boxes()
        percent_on = _install_percentages()
        styles_on = _install_styles()
        font_keys_on = _install_font_keys()
        backgrounds_on = _install_backgrounds()
        matching_on = _install_matching()
        flow_on = _install_flow()
        parse_on = _install_html_parse()
        _installed = (pydyf_on and boxes_on and percent_on and styles_on and font_keys_on
                      and backgrounds_on and matching_on and flow_on and parse_on)
    return bool(_installed)


_original_margin_boxes: Any = None
_page: Any = None


def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
    if not weasy_cache._active:
        return _original_margin_boxes(context, page, state)
    return _make_margin_boxes(context, page, state)


_SIDES = (("top", ("left", "center", "right")), ("bottom", ("left", "center", "right")),
          ("left", ("top", "middle", "bottom")), ("right", ("top", "middle", "bottom")))
_CORNERS = ("@top-left-corner", "@top-right-corner", "@bottom-left-corner",
            "@bottom-right-corner")


#: Pages whose margin boxes are kept per font configuration (one per page number and
#: page kind of a letter: a few dozen in practice); past it the store starts again empty.
MAX_MARGIN_PAGES = 256
_MARGINS = "_letterforge_margins"
_NOT_GENERATED = ("normal", "inhibit", "none")
#: What a margin box's ``content`` may hold for its boxes to be remembered: text, page
#: counters (in the key through ``state``), images and running elements (in the key
#: through their HTML). ``string()``, ``content()``, ``attr()``, leaders and target
#: counters are laid out afresh every time.
_REMEMBERED_CONTENT = ("string", "counter()", "counters()", "url", "element()")


def _margin_store(font_config: Any) -> dict[Any, Any] | None:
    return None if font_config is None else weasy_cache.store(font_config, _MARGINS)


def _freeze(value: Any) -> Any:
    """A hashable copy of the page state: WeasyPrint's (quote depth, counter values,
    counter scopes, page groups): dicts, lists, sets, tuples of strings and numbers."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(_freeze(v) for v in value)))
    hash(value)
    return value


def _style_identity(style: Any) -> Any:
    """What stands for a style's values across letters: its key in the style store
    (cascaded declarations and parent chain, see "Computed styles" below), or, for an
    anonymous style, its parent's; None when it has none (not keyed: not comparable)."""
    depth = 0
    while style is not None and depth < 50:
        number = style.__dict__.get(_KEY)
        if number is not None:
            return ("anonymous", depth, number)
        if type(style) is not _AnonymousStyle:
            return None
        style, depth = style.parent_style, depth + 1
    return None


def _box_style_keys(box: Any) -> tuple[Any, ...] | None:
    """The style identities of a box and of every box below it, in tree order; None
    when one has none."""
    found = []
    todo = [box]
    while todo:
        current = todo.pop()
        identity = _style_identity(getattr(current, "style", None))
        if identity is None:
            return None
        found.append(identity)
        todo.extend(reversed(getattr(current, "children", None) or ()))
    return tuple(found)


def _margin_key(context: Any, page: Any, state: Any, sides: dict[str, list[Any]],
                corners: dict[str, Any]) -> Any:
    """Everything a page's laid-out margin boxes follow from, or None when they are not
    to be remembered. WeasyPrint lays them out from: the page's kind (first, left or
    right, blank, name, its index) and size; the margin boxes' computed styles, which
    come from the stylesheets (the same objects: in the key by identity, and kept
    alive by the store) and the page kind; what their ``content`` names: text, page
    counters (the page state, frozen), images by URL, and running elements, whose boxes
    come from the letter's HTML (each element's markup, and the root and body
    elements' attributes) styled by the same stylesheets. A selector can style them
    (and the root the margin boxes inherit from) by anything elsewhere in the letter
    (``body:has(.urgent) footer``): the key also holds the style store's key of the
    root's style and of every box of each running element, which stand for their
    cascaded declarations up the chain; without those keys nothing is remembered."""
    from xml.etree import ElementTree

    contents = []
    for prefix, suffixes in _SIDES:
        for suffix, style in zip(suffixes, sides[prefix], strict=True):
            if style["content"] not in _NOT_GENERATED:
                contents.append((prefix, suffix, style["content"]))
    for at_keyword, style in corners.items():
        if style["content"] not in _NOT_GENERATED:
            contents.append((at_keyword, "", style["content"]))
    if not contents:
        return None
    running = []
    for _, _, content in contents:
        for type_, value in content:
            if type_ not in _REMEMBERED_CONTENT:
                return None
            if type_ == "element()":
                for box in context.get_running_element_for(page, *value) or ():
                    element = getattr(box, "element", None)
                    if element is None or getattr(box, "pseudo_type", None):
                        return None
                    styles = _box_style_keys(box)
                    if styles is None:
                        return None
                    running.append((ElementTree.tostring(element, encoding="unicode"),
                                    styles))
    root = page.children[0] if page.children else None
    html = getattr(root, "element", None)
    root_style = _style_identity(getattr(root, "style", None))
    if html is None or root_style is None:
        return None
    body = html.find("body")
    ancestors = (tuple(sorted(html.attrib.items())),
                 tuple(sorted(body.attrib.items())) if body is not None else None)
    sheets = tuple(id(sheet) for sheet, _origin, _specificity in context.style_for._sheets)
    try:
        frozen = _freeze(state)
        key = (page.page_type, page.margin_top, page.margin_right, page.margin_bottom,
               page.margin_left, page.border_width(), page.border_height(),
               tuple(contents), tuple(running), ancestors, root_style, frozen, sheets)
        hash(key)
    except TypeError:
        return None
    return key


def _make_margin_boxes(context: Any, page: Any, state: Any) -> Any:  # noqa: C901
    """WeasyPrint 70.0's ``layout.page.make_margin_boxes``; changed: the lines between
    ``# letterforge:`` comments."""
    P = _page
    boxes, build = P.boxes, P.build
    resolve_percentages = P.resolve_percentages
    _standardize_page_based_counters = P._standardize_page_based_counters
    compute_variable_dimension = P.compute_variable_dimension
    compute_fixed_dimension = P.compute_fixed_dimension
    margin_box_content_layout = P.margin_box_content_layout

    # letterforge: WeasyPrint's first lines of make_box, on their own
    def style_of(at_keyword: str) -> Any:
        style = context.style_for(page.page_type, at_keyword)
        if style is None:
            # doesn't affect counters
            style = page.style.anonymous_style
        _standardize_page_based_counters(style, at_keyword)
        return style

    def generated(style: Any) -> bool:
        return style['content'] not in ('normal', 'inhibit', 'none')
    # letterforge: end

    # This is a closure only to make calls shorter
    def make_box(at_keyword: str, containing_block: Any, style: Any) -> Any:
        # letterforge: the style comes from style_of (was computed here)
        box = boxes.MarginBox(at_keyword, style)
        # Empty boxes should not be generated, but they may be needed for
        # the layout of their neighbors.
        # TODO: should be the computed value.
        box.is_generated = style['content'] not in (
            'normal', 'inhibit', 'none')
        # TODO: get actual counter values at the time of the last page break
        if box.is_generated:
            # @margins mustn't manipulate page-context counters
            margin_state = copy.deepcopy(state)
            quote_depth, counter_values, counter_scopes, _page_groups = margin_state
            # TODO: check this, probably useless
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

    # letterforge: every margin box's style first (each standardised once, as
    # make_box did), then the page's margin boxes from the cache when the same ones
    # were laid out before (see _margin_key)
    sides = {prefix: [style_of(f'@{prefix}-{suffix}') for suffix in suffixes]
             for prefix, suffixes in _SIDES}
    corners = {at_keyword: style_of(at_keyword) for at_keyword in _CORNERS}
    key = _margin_key(context, page, state, sides, corners)
    store = _margin_store(page.style.font_config) if key is not None else None
    if store is not None:
        found = store.get(key)
        if found is not None and found[0] == key:
            return list(found[1])
    # letterforge: end

    # Margin box dimensions, described in
    # https://drafts.csswg.org/css-page-3/#margin-box-dimensions
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

    laid_out = [margin_box_content_layout(context, page, box) for box in generated_boxes]
    # letterforge: kept for the next page with the same key
    if store is not None:
        if len(store) >= MAX_MARGIN_PAGES:
            store.clear()
        # the stylesheets stay alive with the entry: their ids in the key stay theirs
        store[key] = (key, tuple(laid_out), tuple(context.style_for._sheets))
    return laid_out


# --- Percentages -------------------------------------------------------------------
#
# ``layout.percent.resolve_percentages`` runs for every box laid out (hundreds per
# page), and for each of its sixteen lengths calls ``resolve_one_percentage``, which
# calls ``percentage``: two Python calls and two ``box.style`` lookups per length.
# :func:`resolve_percentages` below is the same function with both calls written out
# in its body (generated from :data:`_ONE`, one block per length, in WeasyPrint's
# order): the same expressions (``refer_to * value.value / 100``), the same values set
# on the box, ``percentage`` itself still called for ``calc()`` values (no unit).

_ONE = """
    value = style[{name!r}]
    if value is None or value == 'auto':
        used = value
    else:
        unit = getattr(value, 'unit', None)
        if unit is None:
            used = percentage(value, style, {refer})
        elif unit == '%':
            used = {refer} * value.value / 100
        else:
            used = value.value
    box.{name} = {used}
"""

_RESOLVE = """
def resolve_percentages(box, containing_block):
    if not weasy_cache._active:
        return original(box, containing_block)
    if isinstance(containing_block, Box):
        cb_width = containing_block.width
        cb_height = containing_block.height
    else:
        cb_width, cb_height = containing_block
    if isinstance(box, PageBox):
        maybe_height = cb_height
    else:
        maybe_height = cb_width
    style = box.style
{first}
    if cb_height == 'auto':
        height = style['height']
        if height == 'auto' or check_math(height) or height.unit == '%':
            box.height = 'auto'
        else:
            assert height.unit.lower() == 'px'
            box.height = height.value
{auto_height}
    else:
{fixed_height}
    collapse = style['border_collapse'] == 'collapse'
    for side in ('top', 'right', 'bottom', 'left'):
        prop = f'border_{{side}}_width'
        if not (collapse and hasattr(box, prop)):
            setattr(box, prop, style[prop])
    adjust_box_sizing(box, 'width')
    adjust_box_sizing(box, 'height')
"""


def _one(name: str, refer: str, indent: str = "") -> str:
    used = "0 if used == 'auto' else used" if name in ("min_width", "min_height") else "used"
    block = _ONE.format(name=name, refer=refer, used=used)
    return "\n".join(indent + line if line else line for line in block.splitlines())


def _resolve_percentages_source() -> str:
    first = "".join(_one(name, refer) for name, refer in (
        ("margin_left", "cb_width"), ("margin_right", "cb_width"),
        ("margin_top", "maybe_height"), ("margin_bottom", "maybe_height"),
        ("padding_left", "cb_width"), ("padding_right", "cb_width"),
        ("padding_top", "maybe_height"), ("padding_bottom", "maybe_height"),
        ("width", "cb_width"), ("min_width", "cb_width"), ("max_width", "cb_width")))
    auto_height = _one("min_height", "0", "    ") + _one("max_height", "inf", "    ")
    fixed_height = "".join(_one(name, "cb_height", "    ")
                           for name in ("height", "min_height", "max_height"))
    return _RESOLVE.format(first=first, auto_height=auto_height, fixed_height=fixed_height)


#: The modules of WeasyPrint 70.0 that imported ``resolve_percentages`` by name.
_PERCENT_USERS = ("absolute", "block", "column", "float", "grid", "inline", "page", "table")


def _install_percentages() -> bool:
    import importlib
    from math import inf

    import weasyprint
    import weasyprint.layout.percent as percent
    from weasyprint.css.functions import check_math
    from weasyprint.formatting_structure.boxes import Box, PageBox

    if weasyprint.__version__ != FAST_WEASYPRINT:
        return False
    original = percent.resolve_percentages
    users = [importlib.import_module(f"weasyprint.layout.{name}") for name in _PERCENT_USERS]
    if not all(getattr(m, "resolve_percentages", None) is original for m in users):
        return False
    namespace: dict[str, Any] = {
        "weasy_cache": weasy_cache, "original": original, "Box": Box, "PageBox": PageBox,
        "percentage": percent.percentage, "check_math": check_math, "inf": inf,
        "adjust_box_sizing": percent.adjust_box_sizing}
    exec(compile(_resolve_percentages_source(), __file__ + ":resolve_percentages", "exec"),
         namespace)
    fast = namespace["resolve_percentages"]
    for module in (percent, *users):
        module.resolve_percentages = fast
    return True


# --- Computed styles -------------------------------------------------------------------
#
# WeasyPrint computes an element's style values lazily, one property at a time, the
# first time layout or drawing asks (``ComputedStyle.__missing__``), and a text run's
# or line's anonymous style the same way from its parent's (``AnonymousStyle``); it
# shares one computed style between the elements of a document that have the same
# cascaded declarations and the same parent style. Letters of a batch have the same
# elements with the same styles, and every letter computed all of them again (about a
# sixth of a PDF's time).
#
# What a computed value follows from (WeasyPrint 70.0, ``css/__init__.py``): the
# element's cascaded declarations (value and weight of each property: from the
# stylesheets and from the element's own attributes, ``lang``, ``id``, ``style``,
# presentational hints), whether it is a pseudo-element, its parent's computed values
# and the root's (inheritance, ``rem``), the base URL, the font configuration (``ex``
# and ``ch`` units) and the first page's size (viewport units: a letter whose first
# page is a named landscape page has other ``vw`` values, so a style whose cascaded
# values use a viewport unit is not keyed, nor its descendants). It never reads the
# element itself (``attr()`` stays a descriptor that the box builder resolves with the
# element).
#
# So each new element style gets a key: its cascaded (property, (value, weight)) pairs,
# its pseudo-element type and its parent's key (a number standing for the parent's
# whole chain up to the root, whose own key holds the base URL). The values the first
# letter's style computed are recorded under that key (only values computed by
# ``__missing__``: what WeasyPrint later writes into a style itself, a table's margins
# moved to its wrapper, say, is not recorded, and happens again in the next letter as
# before), and the next letter's style with the same key starts with them, as do its
# anonymous style (and theirs). Values WeasyPrint would have computed on demand are
# the same values, computed earlier. ``::marker``, ``::before`` and ``::after`` styles
# are prefilled too, keyed with their type (see :data:`_PREFILLED`). The key is the
# cascaded (property, (value, weight)) pairs themselves, compared by value; a value
# that cannot be hashed is compared by identity (and kept alive).

#: The styles prefilled: elements' and pages' (None), the pseudo-elements' that hold
#: text a letter draws (list numbers, generated content) and the footnote area's. Not
#: ``::first-line`` and ``::first-letter``: WeasyPrint copies every value such a style
#: holds onto the line or letter (layout/inline.py), so it must hold only what was
#: asked of it; nor the footnote pseudo-elements every element has and few use
#: (keying them cost more than it saved).
_PREFILLED = (None, "marker", "before", "after", "@footnote", "@note-area")
#: Element styles remembered per font configuration; past it the store starts again.
MAX_STYLES = 20_000
_STYLES = "_letterforge_styles"
_TEMPLATE = "_letterforge_template"
_KEY = "_letterforge_style_key"


class _Template:
    """The values computed for one element style (and its anonymous style, and so on
    down), with its ``specified`` values (``position``, ``float``, ``display``)."""

    __slots__ = ("values", "specified", "anonymous")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.specified: dict[str, Any] = {}
        self.anonymous: _Template | None = None

    def anonymous_template(self) -> _Template:
        if self.anonymous is None:
            self.anonymous = _Template()
        return self.anonymous


class _StyleStore:
    __slots__ = ("numbers", "templates", "alive", "viewport")

    def __init__(self) -> None:
        # id of a cascaded value -> (the value, whether it uses a viewport unit)
        self.viewport: dict[int, tuple[Any, bool]] = {}
        self.numbers: dict[Any, int] = {}  # key -> number standing for it
        self.templates: dict[int, _Template] = {}
        self.alive: dict[int, Any] = {}  # unhashable cascaded values, keyed by id: kept alive


def _style_store(font_config: Any) -> _StyleStore:
    store = getattr(font_config, _STYLES, None)
    if (store is None or len(store.numbers) > MAX_STYLES or len(store.alive) > MAX_STYLES
            or len(store.viewport) > MAX_STYLES):
        store = _StyleStore()
        setattr(font_config, _STYLES, store)
    return store


def _hashable(value: Any, store: _StyleStore) -> Any:
    """``value`` itself when it can be hashed (compared by value), a tuple of its items
    for a list or tuple (a page rule's specificity is a list), else its identity (and
    the value kept alive, so that the identity stays its own)."""
    try:
        hash(value)
        return value
    except TypeError:
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, tuple(_hashable(item, store) for item in value))
        store.alive[id(value)] = value
        return ("id", id(value))


#: Units relative to the page (WeasyPrint takes the first page's size): a value using
#: one differs between letters whose first pages differ (a named landscape page).
_VIEWPORT_UNITS = frozenset(("vw", "vh", "vmin", "vmax", "vi", "vb", "svw", "svh",
                             "lvw", "lvh", "dvw", "dvh", "svmin", "svmax", "lvmin",
                             "lvmax", "dvmin", "dvmax", "svi", "svb", "lvi", "lvb",
                             "dvi", "dvb"))


def _viewport_in(value: Any, depth: int = 0) -> bool:
    """Whether a cascaded value (a parsed value, a tinycss2 token or function, a
    pending ``var()``, or tuples and lists of them) holds a viewport unit."""
    if depth > 20:
        return True  # deeper than any real value: take it as using one
    unit = getattr(value, "unit", None)
    if isinstance(unit, str) and unit.lower() in _VIEWPORT_UNITS:
        return True
    if isinstance(value, (str, bytes, int, float)) or value is None:
        return False
    for name in ("arguments", "tokens", "content", "value"):
        inner = getattr(value, name, None)
        if isinstance(inner, (list, tuple)) and _viewport_in(inner, depth + 1):
            return True
    if isinstance(value, (list, tuple)):
        return any(_viewport_in(item, depth + 1) for item in value)
    return False


def _uses_viewport(cascaded: dict[str, Any], store: _StyleStore) -> bool:
    for value, _weight in cascaded.values():
        known = store.viewport.get(id(value))
        if known is None or known[0] is not value:
            known = store.viewport[id(value)] = (value, _viewport_in(value))
        if known[1]:
            return True
    return False


def _cascaded_key(cascaded: dict[str, Any], store: _StyleStore) -> Any:
    items = [(name, _hashable(value, store), _hashable(weight, store))
             for name, (value, weight) in cascaded.items()]
    items.sort(key=lambda item: item[0])
    return tuple(items)


def _set_computed_styles(self: Any, element: Any, parent: Any, root: Any = None,
                         pseudo_type: Any = None, base_url: Any = None,
                         target_collector: Any = None) -> None:
    _original_set_computed_styles(self, element, parent, root, pseudo_type, base_url,
                                  target_collector)
    if (not weasy_cache._active or pseudo_type not in _PREFILLED
            or self.font_config is None):
        return
    computed = self._computed_styles[element, pseudo_type]
    parent_style = computed.parent_style
    if parent_style is None:
        parent_key: Any = ("root", base_url)
    else:
        parent_key = parent_style.__dict__.get(_KEY)
        if parent_key is None:
            return  # the parent was not keyed: neither is the child
    store = _style_store(self.font_config)
    if _uses_viewport(computed.cascaded, store):
        return  # its values follow the letter's first page: neither it nor its children
    try:  # almost always: every cascaded value and weight can be hashed
        key = (parent_key, pseudo_type, tuple(computed.cascaded.items()))
        number = store.numbers.setdefault(key, len(store.numbers))
    except TypeError:
        try:
            key = (parent_key, pseudo_type, _cascaded_key(computed.cascaded, store))
            number = store.numbers.setdefault(key, len(store.numbers))
        except TypeError:
            return
    computed.__dict__[_KEY] = number
    template = store.templates.get(number)
    if template is None:
        template = store.templates[number] = _Template()
    else:
        dict.update(computed, template.values)
        computed.specified.update(template.specified)
    computed.__dict__[_TEMPLATE] = template


def _computed_missing(self: Any, key: str) -> Any:
    value = _original_computed_missing(self, key)
    template = self.__dict__.get(_TEMPLATE)
    if template is not None and weasy_cache._active:
        template.values.setdefault(key, value)
        if key in self.specified:
            template.specified.setdefault(key, self.specified[key])
    return value


def _anonymous_missing(self: Any, key: str) -> Any:
    value = _original_anonymous_missing(self, key)
    template = self.__dict__.get(_TEMPLATE)
    if template is not None and weasy_cache._active:
        template.values.setdefault(key, value)
    return value


def _anonymous_style(self: Any) -> Any:
    anonymous = _AnonymousStyle(self)
    template = self.__dict__.get(_TEMPLATE)
    if template is not None and weasy_cache._active:
        child = template.anonymous_template()
        dict.update(anonymous, child.values)
        anonymous.__dict__[_TEMPLATE] = child
    return anonymous


_original_set_computed_styles: Any = None
_original_computed_missing: Any = None
_original_anonymous_missing: Any = None
_AnonymousStyle: Any = None


def _install_styles() -> bool:
    from functools import cached_property

    import weasyprint
    import weasyprint.css as css

    global _original_set_computed_styles, _original_computed_missing
    global _original_anonymous_missing, _AnonymousStyle
    if weasyprint.__version__ != FAST_WEASYPRINT:
        return False
    prop = css.Style.__dict__.get("anonymous_style")
    if not isinstance(prop, cached_property):
        return False
    _original_set_computed_styles = css.StyleFor.set_computed_styles
    _original_computed_missing = css.ComputedStyle.__missing__
    _original_anonymous_missing = css.AnonymousStyle.__missing__
    _AnonymousStyle = css.AnonymousStyle
    css.StyleFor.set_computed_styles = _set_computed_styles
    css.ComputedStyle.__missing__ = _computed_missing
    css.AnonymousStyle.__missing__ = _anonymous_missing
    anonymous = cached_property(_anonymous_style)
    anonymous.__set_name__(css.Style, "anonymous_style")
    css.Style.anonymous_style = anonymous
    return True


# --- Font keys ---------------------------------------------------------------------
#
# ``text.line_break.strut`` (every line box) and ``character_ratio`` look up a font
# metric under a key that ``_font_style_cache_key`` builds by formatting fourteen to
# sixteen style values into a string, every call. A style's values do not change once
# computed (WeasyPrint changes values only on copies it makes for first lines, first
# letters and ellipses, which start without the key), so the string is kept on the
# style object the first time and handed back after.

_FONT_KEY = "_letterforge_font_key"
_original_font_key: Any = None


def _font_style_cache_key(style: Any, include_size: bool = False) -> str:
    if not weasy_cache._active:
        result: str = _original_font_key(style, include_size)
        return result
    keys = style.__dict__.get(_FONT_KEY)
    if keys is None:
        keys = style.__dict__[_FONT_KEY] = {}
    key = keys.get(include_size)
    if key is None:
        key = keys[include_size] = _original_font_key(style, include_size)
    return key


def _install_font_keys() -> bool:
    import weasyprint
    import weasyprint.text.line_break as line_break

    global _original_font_key
    original = getattr(line_break, "_font_style_cache_key", None)
    if weasyprint.__version__ != FAST_WEASYPRINT or not callable(original):
        return False
    _original_font_key = original
    line_break._font_style_cache_key = _font_style_cache_key
    return True


# --- Backgrounds ---------------------------------------------------------------------
#
# After layout, ``layout.background.layout_box_backgrounds`` visits every box of every
# page: it resolves the box's corner radii, then reads nine style values and the
# background colour to find that almost every box of a letter has nothing to paint
# (``box.background = None``). Whether a style has nothing to paint, and whether its
# four radii take WeasyPrint's zero "short track", follow from the style's values
# alone: they are worked out once per style object and kept on it. A box whose style
# has nothing to paint and zero radii gets exactly what WeasyPrint's function gives it
# (the four radii (0, 0), its children visited in order, no background); any other
# box, the page itself and the root box painted with another box's style (the canvas
# background), goes through WeasyPrint's function.

_PLAIN = "_letterforge_plain_background"
_CORNERS_RADII = ("border_top_left_radius", "border_top_right_radius",
                  "border_bottom_right_radius", "border_bottom_left_radius")
_original_box_backgrounds: Any = None
_get_color: Any = None


def _nothing_to_paint(style: Any) -> bool:
    plain = style.__dict__.get(_PLAIN)
    if plain is None:
        zero = (0, "px")
        plain = (
            all(zero in style[name] for name in _CORNERS_RADII)
            and style["border_image_source"][0] == "none"
            and style["mask_border_source"][0] == "none"
            and not style["box_shadow"]
            and (style["visibility"] == "hidden" or (
                not any(type_ == "url" or value for type_, value in style["background_image"])
                and _get_color(style, "background_color").alpha == 0)))
        style.__dict__[_PLAIN] = plain
    return bool(plain)


def _layout_box_backgrounds(page: Any, box: Any, get_image_from_uri: Any,
                            layout_children: bool = True, style: Any = None) -> Any:
    if (not weasy_cache._active or box is page or style is not None
            or not _nothing_to_paint(box.style)):
        return _original_box_backgrounds(page, box, get_image_from_uri, layout_children,
                                         style)
    for name in _CORNERS_RADII:
        setattr(box, name, (0, 0))
    if layout_children:
        for child in box.all_children():
            _layout_box_backgrounds(page, child, get_image_from_uri)
    box.background = None
    return None


def _install_backgrounds() -> bool:
    import weasyprint
    import weasyprint.layout.background as background
    from weasyprint.draw.color import get_color

    global _original_box_backgrounds, _get_color
    if weasyprint.__version__ != FAST_WEASYPRINT:
        return False
    _original_box_backgrounds = background.layout_box_backgrounds
    _get_color = get_color
    background.layout_box_backgrounds = _layout_box_backgrounds
    return True


# --- Normal flow and floats ---------------------------------------------------------
#
# ``Box.is_in_normal_flow`` asks five methods in turn (floated, absolutely positioned,
# running, footnote, note), each reading the style again: about 3,000 calls a letter
# (page breaks, margins, page names ask it of every child). :func:`_is_in_normal_flow`
# reads the same two style values once. ``layout.float.avoid_collisions`` places every
# line box and block between the floats of the page; with no float on it (a letter's
# pages have none) it still builds keyword lists, scans the empty list of shapes and
# asserts the box's kind: :func:`_avoid_collisions` does the arithmetic of that case in
# the same order (the same floats), and hands anything else to WeasyPrint.

_NOT_IN_FLOW_FLOATS = frozenset(("left", "right", "inline-start", "inline-end", "footnote"))
_original_in_normal_flow: Any = None
_original_avoid_collisions: Any = None


def _is_in_normal_flow(box: Any) -> bool:
    if not weasy_cache._active:
        return bool(_original_in_normal_flow(box))
    style = box.style
    if style["float"] in _NOT_IN_FLOW_FLOATS:
        return False
    position = style["position"]
    if position in ("absolute", "fixed"):
        return False
    return position[0] not in ("running()", "note()")


def _avoid_collisions(context: Any, box: Any, containing_block: Any,
                      outer: bool = True) -> Any:
    if context.excluded_shapes or not weasy_cache._active:
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
    position_x = max_left_bound
    available_width = max_right_bound - max_left_bound
    if not outer:
        position_x -= box.margin_left
        position_y -= box.margin_top
    return position_x, position_y, available_width


def _install_flow() -> bool:
    import weasyprint
    import weasyprint.layout.block as block
    import weasyprint.layout.float as floats
    import weasyprint.layout.inline as inline
    from weasyprint.formatting_structure.boxes import Box

    global _original_in_normal_flow, _original_avoid_collisions
    if weasyprint.__version__ != FAST_WEASYPRINT:
        return False
    _original_in_normal_flow = Box.is_in_normal_flow
    _original_avoid_collisions = floats.avoid_collisions
    Box.is_in_normal_flow = _is_in_normal_flow
    for module in (floats, inline, block):  # replaced.py imports it at each call
        module.avoid_collisions = _avoid_collisions
    return True


# --- Parsing the page --------------------------------------------------------------
#
# WeasyPrint parses each letter's HTML with tinyhtml5, a pure-Python HTML5 parser: 14-18
# ms a letter, for pages that differ from one letter to the next in their words only.
# How an HTML5 parser builds the tree depends on the tags and on whether a run of text
# is white space or not (and on a few characters: NUL, CR, '&'), never on which words
# the text holds. So the page is parsed once per *skeleton*: the page with every run
# of text that holds more than white space reduced to its white space around a marker
# (``\ue000N\ue001``), and the values of the attributes that hold words (``content``,
# ``alt``, ``title``, ``href``, ``src``) replaced by markers. Each letter gets a copy of
# its skeleton's tree with the markers replaced by its own words, decoded as the parser
# decodes them. Anything outside what letterforge's HTML writer produces -- another
# character reference than the five ``html.escape`` writes, a control character, a CR,
# the marker characters, a tag that is not a plain start or end tag with double-quoted
# attributes, an element whose content the parser reads differently (script, style,
# textarea, SVG...) -- and the page goes to tinyhtml5 whole, as before.

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_WORD_ATTRIBUTES = frozenset(("content", "alt", "title", "href", "src"))
_HTML_SPACE = " \t\n\f"
_PIECES = re.compile(r"(<[^<>]*>)")
_START = re.compile(r'<([a-zA-Z][a-zA-Z0-9]*)((?:[ \t\n\f]+[a-zA-Z][-a-zA-Z0-9:._]*'
                    r'(?:="[^"]*")?)*)[ \t\n\f]*>\Z')
_ATTRIBUTE = re.compile(r'([a-zA-Z][-a-zA-Z0-9:._]*)(?:="([^"]*)")?')
_END = re.compile(r"</([a-zA-Z][a-zA-Z0-9]*)[ \t\n\f]*>\Z")
_SPECIAL_CONTENT = frozenset((
    "script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
    "plaintext", "svg", "math", "template", "select", "frameset", "frame", "object",
    "image", "isindex", "form"))
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\r\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000\ue001"
                          "\ufdd0-\ufdef\ufffe\uffff]|&(?!(?:amp|lt|gt|quot|#x27);)")
_MARKED = re.compile("\ue000([0-9]+)\ue001")
MAX_SKELETONS = 16
_original_parse: Any = None
_skeletons: OrderedDict[str, Any] = OrderedDict()


def _skeleton(page: str) -> tuple[str, list[str]] | None:
    """The page's skeleton and its words in marker order; None for a page this does
    not take (see above)."""
    words: list[str] = []
    out: list[str] = []
    pieces = _PIECES.split(page)
    in_title = False  # <title> holds text up to </title>, tags included (RCDATA)
    for i, piece in enumerate(pieces):
        if i % 2 == 1 and in_title:
            end = _END.match(piece)
            if end is None or end[1].lower() != "title":
                return None
            in_title = False
        if i % 2 == 0:  # text
            if not piece:
                continue
            if "<" in piece or ">" in piece or _UNSAFE_TEXT.search(piece):
                return None
            core = piece.strip(_HTML_SPACE)
            if not core:
                out.append(piece)
                continue
            start = len(piece) - len(piece.lstrip(_HTML_SPACE))
            out.append(f"{piece[:start]}{_MARK_OPEN}{len(words)}{_MARK_CLOSE}"
                       f"{piece[start + len(core):]}")
            words.append(unescape(core))
            continue
        if i == 1 and piece.lower() == "<!doctype html>":
            out.append(piece)
            continue
        end = _END.match(piece)
        if end is not None:
            if end[1].lower() in _SPECIAL_CONTENT:
                return None
            out.append(piece)
            continue
        start_tag = _START.match(piece)
        if start_tag is None or start_tag[1].lower() in _SPECIAL_CONTENT:
            return None
        tag = [f"<{start_tag[1]}"]
        for attribute in _ATTRIBUTE.finditer(start_tag[2]):
            name, value = attribute[1], attribute[2]
            if value is None:
                tag.append(f" {name}")
                continue
            if _UNSAFE_TEXT.search(value):
                return None
            if name.lower() in _WORD_ATTRIBUTES and value:
                tag.append(f' {name}="{_MARK_OPEN}{len(words)}{_MARK_CLOSE}"')
                words.append(unescape(value))
            else:
                tag.append(f' {name}="{value}"')
        tag.append(">")
        out.append("".join(tag))
        in_title = start_tag[1].lower() == "title"
    if in_title:
        return None
    return "".join(out), words


def _fill(tree: Any, words: list[str]) -> Any:
    def put(text: str) -> str:
        return _MARKED.sub(lambda m: words[int(m[1])], text)

    for element in tree.iter():
        if element.text and _MARK_OPEN in element.text:
            element.text = put(element.text)
        if element.tail and _MARK_OPEN in element.tail:
            element.tail = put(element.tail)
        for name, value in element.attrib.items():
            if _MARK_OPEN in value:
                element.attrib[name] = put(value)
    return tree


def _parse(document: Any, namespace_html_elements: bool = True, **kwargs: Any) -> Any:
    if (not weasy_cache._active or namespace_html_elements or kwargs
            or not isinstance(document, (str, io.StringIO))):
        return _original_parse(document, namespace_html_elements, **kwargs)
    page = document if isinstance(document, str) else document.read()
    found = _skeleton(page)
    if found is None:
        return _original_parse(page, namespace_html_elements)
    skeleton, words = found
    tree = _skeletons.get(skeleton)
    if tree is None:
        tree = _original_parse(skeleton, namespace_html_elements)
        _skeletons[skeleton] = tree
        while len(_skeletons) > MAX_SKELETONS:
            _skeletons.popitem(last=False)
    else:
        with contextlib.suppress(KeyError):  # another thread's page may have pushed it out
            _skeletons.move_to_end(skeleton)
    return _fill(copy.deepcopy(tree), words)


def _install_html_parse() -> bool:
    import tinyhtml5
    import weasyprint

    global _original_parse
    if weasyprint.__version__ != FAST_WEASYPRINT or getattr(
            tinyhtml5, "__version__", None) != FAST_TINYHTML5:
        return False
    _original_parse = tinyhtml5.parse
    tinyhtml5.parse = _parse
    return True


# --- Selector matching -------------------------------------------------------------
#
# WeasyPrint's cascade (``css.StyleFor.__init__``) asks every stylesheet's cssselect2
# ``Matcher`` which of its selectors match each element, in document order. A
# selector can only test an element's tag, its attributes (``id``, ``class``,
# ``lang``...), the same of its ancestors and siblings, where it stands among them,
# and whether it has children or text (``:empty``); the ``lang`` it inherits may come
# from a ``<meta>`` in the head. All of that is in a document's *shape*: for every
# element in document order, its tag, its attributes, whether it has text and how
# many children. Letters of a batch have the same shape (the words differ, not the
# elements; the one attribute that holds the candidate, the description's
# ``content``, is left out when no selector names it), so the answers the matchers
# gave for the first letter of a shape (with
# the same stylesheets, kept alive with them) are handed back, in the same order, for
# the next ones. A call that is not the next one recorded (another matcher) stops the
# replay for the rest of that document: WeasyPrint's own matching answers from there.

MAX_SHAPES = 64
_SHAPES = "_letterforge_shapes"


class _Matching:
    __slots__ = ("replay", "position", "recorded", "faithful")

    def __init__(self, replay: list[tuple[int, Any]] | None) -> None:
        self.replay = replay
        self.position = 0
        self.recorded: list[tuple[int, Any]] = []
        self.faithful = True


_matching: _Matching | None = None
_original_match: Any = None
_original_style_for_init: Any = None


def _shape(root: Any, content_seen: bool) -> tuple[Any, ...]:
    """For every element: tag, attributes, whether it has text, how many children.
    A ``content`` attribute's value (``<meta name="description" content="Open
    letter to Cuba...">``) is left out when no selector of the stylesheets names that
    attribute (``content_seen`` False), unless the element also has ``http-equiv``
    (cssselect2 reads a Content-Language ``<meta>`` for ``:lang()``)."""
    shape = []
    for element in root.iter():
        attributes = tuple(element.attrib.items())
        if (not content_seen and "content" in element.attrib
                and "http-equiv" not in element.attrib):
            attributes = tuple((name, value if name != "content" else None)
                               for name, value in attributes)
        shape.append((element.tag, attributes, bool(element.text), len(element)))
    return tuple(shape)


def _names_attribute(code: Any, name: str) -> bool:
    """Whether a compiled selector's code (or code nested in it) holds ``name`` as an
    attribute key: cssselect2 compiles ``[content...]`` to a test on the literal
    ``'content'`` (or ``'{namespace}content'``)."""
    for const in code.co_consts:
        if isinstance(const, str) and (const == name or const.endswith("}" + name)):
            return True
        if hasattr(const, "co_consts") and _names_attribute(const, name):
            return True
    return False


def _selectors_see(sheets: Any, name: str) -> bool:
    for sheet, _origin, _specificity in sheets:
        matcher = sheet.matcher
        groups = [matcher.other_selectors, matcher.lang_attr_selectors,
                  *matcher.id_selectors.values(), *matcher.class_selectors.values(),
                  *matcher.lower_local_name_selectors.values(),
                  *matcher.namespace_selectors.values()]
        for group in groups:
            for test, *_rest in group:
                if _names_attribute(test.__code__, name):
                    return True
    return False


def _match(self: Any, element: Any) -> Any:
    state = _matching
    if state is None:
        return _original_match(self, element)
    if state.replay is not None:
        position = state.position
        if position < len(state.replay) and state.replay[position][0] == id(self):
            state.position = position + 1
            return state.replay[position][1]
        state.replay = None  # not the call recorded next: match from here on
        state.faithful = False
        return _original_match(self, element)
    result = _original_match(self, element)
    state.recorded.append((id(self), result))
    return result


def _style_for_init(self: Any, html: Any, sheets: Any, presentational_hints: Any,
                    font_config: Any, target_collector: Any) -> None:
    global _matching
    if not weasy_cache._active or font_config is None or _matching is not None:
        _original_style_for_init(self, html, sheets, presentational_hints, font_config,
                                 target_collector)
        return
    store = getattr(font_config, _SHAPES, None)
    if store is None or len(store) > MAX_SHAPES:
        store = {}
        setattr(font_config, _SHAPES, store)
    try:
        sheet_ids = tuple(id(sheet) for sheet, _, _ in sheets)
        seen = store.get(("content seen", sheet_ids))
        if seen is None:
            seen = store[("content seen", sheet_ids)] = (
                _selectors_see(sheets, "content"), tuple(sheet for sheet, _, _ in sheets))
        key = (_shape(html.etree_element, seen[0]), sheet_ids, presentational_hints)
        found = store.get(key)
    except TypeError:
        _original_style_for_init(self, html, sheets, presentational_hints, font_config,
                                 target_collector)
        return
    state = _matching = _Matching(found[1] if found is not None else None)
    try:
        _original_style_for_init(self, html, sheets, presentational_hints, font_config,
                                 target_collector)
    finally:
        _matching = None
    if found is None and state.faithful:
        # the stylesheets stay alive with the answers: the ids in the key stay theirs
        store[key] = (key, state.recorded, tuple(sheet for sheet, _, _ in sheets))


def _install_matching() -> bool:
    import cssselect2
    import weasyprint
    import weasyprint.css as css

    global _original_match, _original_style_for_init
    if weasyprint.__version__ != FAST_WEASYPRINT or not callable(
            getattr(cssselect2.Matcher, "match", None)):
        return False
    _original_match = cssselect2.Matcher.match
    _original_style_for_init = css.StyleFor.__init__
    cssselect2.Matcher.match = _match
    css.StyleFor.__init__ = _style_for_init
    return True

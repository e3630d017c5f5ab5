"""The ``styles`` speed override: computed style values remembered (see the table in
``engine/__init__.py``).

WeasyPrint computes an element's style values lazily, one property at a time, the
first time layout or drawing asks (``ComputedStyle.__missing__``), and a text run's
or line's anonymous style the same way from its parent's (``AnonymousStyle``); it
shares one computed style between the elements of a document that have the same
cascaded declarations and the same parent style. Letters of a batch have the same
elements with the same styles, and every letter computed all of them again (about a
sixth of a PDF's time).

What a computed value follows from (WeasyPrint 70.0, ``css/__init__.py``): the
element's cascaded declarations (value and weight of each property: from the
stylesheets and from the element's own attributes, ``lang``, ``id``, ``style``,
presentational hints), whether it is a pseudo-element, its parent's computed values
and the root's (inheritance, ``rem``), the base URL, the font configuration (``ex``
and ``ch`` units) and the first page's size (viewport units: a letter whose first
page is a named landscape page has other ``vw`` values, so a style whose cascaded
values use a viewport unit is not keyed, nor its descendants). It never reads the
element itself (``attr()`` stays a descriptor that the box builder resolves with the
element).

So each new element style gets a key: its cascaded (property, (value, weight)) pairs,
its pseudo-element type and its parent's key (a number standing for the parent's
whole chain up to the root, whose own key holds the base URL). The values the first
letter's style computed are recorded under that key (only values computed by
``__missing__``: what WeasyPrint later writes into a style itself, a table's margins
moved to its wrapper, say, is not recorded, and happens again in the next letter as
before), and the next letter's style with the same key starts with them, as do its
anonymous style (and theirs). Values WeasyPrint would have computed on demand are
the same values, computed earlier. ``::marker``, ``::before`` and ``::after`` styles
are prefilled too, keyed with their type (see :data:`_PREFILLED`). The key is the
cascaded (property, (value, weight)) pairs themselves, compared by value; a value
that cannot be hashed is compared by identity (and kept alive).
"""

from __future__ import annotations

from typing import Any

from . import patch

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


def _viewport_in(value: Any, depth: int = 0) -> bool:
    """Whether a cascaded value (a parsed value, a tinycss2 token or function, a
    pending ``var()``, or tuples and lists of them) holds a viewport unit."""
    if depth > 20:
        return True  # deeper than any real value: take it as using one
    unit = getattr(value, "unit", None)
    if isinstance(unit, str) and unit.lower() in _viewport_units():
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
    if (pseudo_type not in _PREFILLED
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
    if template is not None:
        template.values.setdefault(key, value)
        if key in self.specified:
            template.specified.setdefault(key, self.specified[key])
    return value


def _anonymous_missing(self: Any, key: str) -> Any:
    value = _original_anonymous_missing(self, key)
    template = self.__dict__.get(_TEMPLATE)
    if template is not None:
        template.values.setdefault(key, value)
    return value


def _anonymous_style(self: Any) -> Any:
    anonymous = _AnonymousStyle(self)
    template = self.__dict__.get(_TEMPLATE)
    if template is not None:
        child = template.anonymous_template()
        dict.update(anonymous, child.values)
        anonymous.__dict__[_TEMPLATE] = child
    return anonymous


_original_set_computed_styles: Any = None
_original_computed_missing: Any = None
_original_anonymous_missing: Any = None
_AnonymousStyle: Any = None


def _viewport_units() -> frozenset[str]:
    """Units relative to the page (WeasyPrint takes the first page's size): a value using
    one differs between letters whose first pages differ (a named landscape page). The
    list is WeasyPrint's own (``css.units.VIEWPORT_UNITS``)."""
    global _VIEWPORT_UNITS
    if _VIEWPORT_UNITS is None:
        from weasyprint.css.units import VIEWPORT_UNITS

        _VIEWPORT_UNITS = frozenset(unit.lower() for unit in VIEWPORT_UNITS)
    return _VIEWPORT_UNITS


_VIEWPORT_UNITS: frozenset[str] | None = None


def install(name: str) -> None:
    from functools import cached_property

    import weasyprint.css as css

    global _original_set_computed_styles, _original_computed_missing
    global _original_anonymous_missing, _AnonymousStyle
    prop = css.Style.__dict__.get("anonymous_style")
    assert isinstance(prop, cached_property), "WeasyPrint's Style is not the one pinned"
    _AnonymousStyle = css.AnonymousStyle
    _original_set_computed_styles = patch("styles", css.StyleFor, "set_computed_styles",
                                          _set_computed_styles)
    _original_computed_missing = patch("styles", css.ComputedStyle, "__missing__",
                                       _computed_missing)
    _original_anonymous_missing = patch("styles", css.AnonymousStyle, "__missing__",
                                        _anonymous_missing)
    anonymous = cached_property(_anonymous_style)
    anonymous.__set_name__(css.Style, "anonymous_style")
    patch("styles", css.Style, "anonymous_style", anonymous)

"""Images a letter shows (a body image, the letterhead's logo, a signature): what a file's
bytes are, how large it prints, and whether it is safe to embed. Pure: the load stage
reads the bytes and calls :func:`inspect`.

PNG and JPEG are identified by their magic bytes and opened with Pillow (which WeasyPrint
already needs); their print size is their pixel size at their own resolution (the DPI
stored in the file, else 96 dpi, as browsers and WeasyPrint assume). An SVG is parsed as
XML without entities or network; it must be an ``<svg>`` element, and it may reference
nothing outside itself (``href`` and ``url()`` only to ``#fragments`` or ``data:``), so a
letter can never fetch a file or a URL when it is laid out; its print size comes from
its ``width``/``height`` (any CSS unit) or its ``viewBox`` (in CSS pixels).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: One image file may be this large at most (a logo or a scanned signature is far less).
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: And have this many pixels at most (a decompression bomb is refused before decoding). A
#: full A4 page scanned at 300 dpi is 8.7 million; a 16-bit RGBA image of 25 million
#: takes 200 MB to decode in each worker (40 million took 446 MB).
MAX_IMAGE_PIXELS = 25_000_000
#: What an SVG may ask the PDF writer to draw, counting every copy a ``<use>`` or a
#: ``url(#...)`` makes: shapes, characters of text, characters of path data. WeasyPrint
#: takes about 0.3 ms a shape and grows with text quadratically: 240,000 shapes took
#: a minute and a gigabyte, 5 MB of text did not finish; a logo or a chart is far below.
MAX_SVG_ELEMENTS = 20_000
MAX_SVG_TEXT = 20_000
MAX_SVG_PATH_DATA = 1_000_000
#: An SVG's print size, in points, is between these (a page is 842 points high).
MIN_PRINT = 0.01
MAX_PRINT = 14_400
#: Resolution assumed when a PNG or JPEG does not say its own.
DEFAULT_DPI = 96.0

EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg"}
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
KIND_NAMES = {"png": "a PNG", "jpeg": "a JPEG", "svg": "an SVG"}

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

#: CSS units in points, for an SVG's width and height.
_UNITS = {"": 0.75, "px": 0.75, "pt": 1.0, "pc": 12.0, "in": 72.0, "cm": 72 / 2.54,
          "mm": 72 / 25.4, "q": 72 / 101.6}
_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class Image:
    """An image read from the templates folder, checked."""

    name: str  # its path in the templates folder, with "/" (as the template names it)
    data: bytes
    kind: str  # "png", "jpeg" or "svg"
    width: float  # print size, in points
    height: float
    fallback: str | None = None  # an SVG's PNG beside it (same stem): what Word shows

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return "jpeg" if self.kind == "jpeg" else self.kind


class ImageProblem(ValueError):
    """Why bytes are not an image a letter can show (the message says what to do)."""


def kind_of_name(name: str) -> str | None:
    """"png", "jpeg" or "svg" from a file name's extension; None for any other."""
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot >= 0 else None


def sniff(data: bytes) -> str | None:
    """What the bytes are by their first bytes: "png", "jpeg", "svg" or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = data[:1024].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!DOCTYPE svg")) and b"<svg" in data[:4096]:
        return "svg"
    return None


def inspect(name: str, data: bytes) -> Image:
    """The image ``name`` holds, checked; raise :class:`ImageProblem` when it is not a
    PNG, JPEG or SVG a letter can show."""
    expected = kind_of_name(name)
    if expected is None:
        raise ImageProblem(f"{name!r} is not a PNG, JPEG or SVG file name: letters show "
                           ".png, .jpg and .svg images")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(f"{name!r} is {len(data) / 2**20:.1f} MB; an image may be "
                           f"{MAX_IMAGE_BYTES // 2**20} MB at most: make it smaller")
    found = sniff(data)
    if found is None:
        raise ImageProblem(f"{name!r} is not {KIND_NAMES[expected]} image (its bytes are "
                           "not an image): save it again as PNG, JPEG or SVG")
    if found != expected:
        raise ImageProblem(f"{name!r} is {KIND_NAMES[found]} image, not {KIND_NAMES[expected]}"
                           ": give it the extension of what it is")
    if found == "svg":
        width, height = _svg_size(name, data)
    else:
        width, height = _raster_size(name, data, found)
    return Image(name, data, found, width, height)


def _raster_size(name: str, data: bytes, kind: str) -> tuple[float, float]:
    import warnings

    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: ours is below
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(data), formats=["PNG" if kind == "png" else "JPEG"])
        with im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageProblem(f"{name!r} has {w} x {h} pixels; an image may have "
                                   f"{MAX_IMAGE_PIXELS // 1_000_000} million pixels at most")
            dpi = im.info.get("dpi")
            im.verify()  # the whole file, checksums included
    except ImageProblem:
        raise
    except PILImage.DecompressionBombError:
        raise ImageProblem(f"{name!r} has far more than {MAX_IMAGE_PIXELS // 1_000_000} "
                           "million pixels, the most an image may have: save it smaller"
                           ) from None
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ImageProblem(f"{name!r} cannot be read as {KIND_NAMES[kind]} image ({exc}): "
                           "save it again from an image editor") from None
    try:
        dx, dy = (float(dpi[0]), float(dpi[1])) if dpi else (DEFAULT_DPI, DEFAULT_DPI)
    except (TypeError, ValueError, IndexError):
        dx = dy = DEFAULT_DPI
    if not (1 <= dx <= 10_000 and 1 <= dy <= 10_000):
        dx = dy = DEFAULT_DPI
    return w * 72 / dx, h * 72 / dy


# Complexity over 20, kept: one refusal per way an SVG escapes a letter (entities, the
# network, other files, scripts, its size), each with its own message.
def _svg_size(name: str, data: bytes) -> tuple[float, float]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ImageProblem(f"{name!r} is not a well-formed SVG ({exc}): save it again "
                           "from the drawing program") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or b"<!ENTITY" in data:
        raise ImageProblem(f"{name!r} declares XML entities: save the SVG again without a "
                           "DOCTYPE")
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ImageProblem(f"{name!r} is not an SVG image (its root element is not <svg> in "
                           "the SVG namespace): save it again as SVG")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for key, value in el.attrib.items():
            local = key.rsplit("}", 1)[-1]
            if (local == "href" or key == XLINK_HREF) and not _local_ref(value):
                raise ImageProblem(_external(name, value))
            if local == "href" or key == XLINK_HREF:
                _check_data_url(name, value)
            elif "(" in value or "\\" in value or "@" in value:
                _check_css(name, value)
        if etree.QName(el).localname == "style" and el.text:
            _check_css(name, el.text, sheet=True)
        if etree.QName(el).localname in ("foreignObject", "script"):
            raise ImageProblem(f"{name!r} contains <{etree.QName(el).localname}>, which a "
                               "letter cannot show: save the SVG again without it")
    _check_budget(name, root)
    width = _length(root.get("width"))
    height = _length(root.get("height"))
    box = _view_box(root.get("viewBox"))
    if width is None and height is None and box is None:
        raise ImageProblem(f"{name!r} has neither width and height nor a viewBox: give "
                           "its <svg> element width and height (e.g. width=\"40mm\")")
    if box is not None and box[1] > 0:
        ratio = box[0] / box[1]
        if width is None and height is None:
            width, height = box[0] * 0.75, box[1] * 0.75
        elif width is None:
            width = height * ratio if height is not None else None
        elif height is None:
            height = width / ratio
    if not width or not height:
        raise ImageProblem(f"{name!r} has no usable size: give its <svg> element width and "
                           "height (e.g. width=\"40mm\" height=\"12mm\")")
    if not all(math.isfinite(v) and MIN_PRINT <= v <= MAX_PRINT for v in (width, height)):
        raise ImageProblem(f"{name!r} is {_shown(width)} x {_shown(height)} points: give "
                           "its <svg> element a size a page can hold (e.g. width=\"40mm\" "
                           "height=\"12mm\")")
    return width, height


def _shown(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "infinitely many"


_NUMBER = re.compile(r"[-+]?(?:[0-9]*\.)?[0-9]+")
_FRAGMENT_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)")


# Complexity over 20, kept: one walk over the drawing, counting each kind of cost as the
# PDF writer would pay it.
def _check_budget(name: str, root: Any) -> None:
    """Refuse an SVG that would make the PDF writer draw more than the MAX_SVG_ limits,
    counting each copy ``<use href="#x">`` and ``url(#x)`` make (a chain of ``<use>``
    doubling at each step is a billion shapes in 30 lines). It walks what WeasyPrint
    would draw and stops at the limit, so it is quick whatever the file holds."""
    ids = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    shapes = text = path = 0
    stack = [root]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        shapes += 1
        text += len((el.text or "").strip()) + len((el.tail or "").strip())
        path += len(el.get("d") or "") + len(el.get("points") or "")
        if shapes > MAX_SVG_ELEMENTS or text > MAX_SVG_TEXT or path > MAX_SVG_PATH_DATA:
            what = (f"{MAX_SVG_ELEMENTS:,} shapes" if shapes > MAX_SVG_ELEMENTS else
                    f"{MAX_SVG_TEXT:,} characters of text" if text > MAX_SVG_TEXT else
                    f"{MAX_SVG_PATH_DATA:,} characters of path data")
            raise ImageProblem(f"{name!r} draws more than {what} (counting each copy "
                               "<use> makes): a letter's image may not; simplify it, or "
                               "export it as PNG")
        stack.extend(el)
        for key, value in el.attrib.items():
            local = key.rsplit("}", 1)[-1]
            targets = ([value.strip()[1:]] if (local == "href" or key == XLINK_HREF)
                       and value.strip().startswith("#") else _FRAGMENT_URL.findall(value))
            copies = 1
            if "marker" in local or (local == "style" and "marker" in value):
                # a marker is drawn at every vertex of the path
                points = el.get("d") or el.get("points") or ""
                copies = min(MAX_SVG_ELEMENTS + 1, max(1, len(_NUMBER.findall(points)) // 2))
            stack.extend(ids[t] for t in targets if t in ids for _ in range(copies))


def _data_url_bytes(name: str, value: str) -> bytes:
    """The bytes a ``data:`` URL holds, whatever media type it declares (or none)."""
    import base64
    import binascii
    from urllib.parse import unquote_to_bytes

    head, _, body = value.strip().partition(",")
    try:
        if ";base64" in head.lower():
            return base64.b64decode(unquote_to_bytes(body), validate=False)
        return unquote_to_bytes(body)
    except (binascii.Error, ValueError):
        raise ImageProblem(f"{name!r} holds data that is not valid base64: export the SVG "
                           "again") from None


def _check_data_url(name: str, value: str) -> None:
    """What an SVG embeds as a ``data:`` URL is judged by its bytes, not by the media type
    it declares (``data:;base64,`` declares none): a PNG or JPEG is checked as one read
    from a file (its size in pixels: a small file can hold a huge picture); an SVG in an
    SVG is refused (it would escape this image's limits), and so is anything else."""
    if not value.strip().lower().startswith("data:"):
        return
    data = _data_url_bytes(name, value)
    kind = sniff(data)
    if kind == "svg" or b"<svg" in data[:65536].lower():
        raise ImageProblem(f"{name!r} holds another SVG as a data: URL: draw it in the "
                           "image itself, or export the image as PNG")
    if kind not in ("png", "jpeg"):
        raise ImageProblem(f"{name!r} holds embedded data that is not a PNG or JPEG image: "
                           "export the SVG again with PNG or JPEG images")
    _raster_size(f"{name} (an image inside it)", data, kind)


def inspect_data_url(name: str, url: str) -> None:
    """An image a stylesheet holds as a ``data:`` URL, judged by its bytes: a PNG, JPEG
    or SVG is checked as the same image read from a file; other data (a font) is left to
    what reads it."""
    data = _data_url_bytes(name, url)
    kind = sniff(data)
    if kind is None:
        return
    as_file = f"{name}.{'jpg' if kind == 'jpeg' else kind}"
    try:
        inspect(as_file, data)
    except ImageProblem as exc:  # named as the user knows it, not as a file
        raise ImageProblem(str(exc).replace(repr(as_file), name)) from None


def _local_ref(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or value.lower().startswith("data:")


def _external(name: str, ref: str) -> str:
    return (f"{name!r} refers to {ref.strip()[:80]!r}, outside the image: an SVG in a "
            "letter must hold everything it draws (embed the picture or the font)")


def css_references(css: str, sheet: bool) -> list[str]:
    """Every reference a piece of CSS makes, read as a browser reads it (tinycss2: any
    case, CSS escapes resolved): ``url(...)`` in either form, ``src()``, ``image()`` and
    ``image-set()`` strings, and ``@import`` (given as "@import"). ``sheet``: a whole
    stylesheet (a ``<style>`` element), else a value or declarations (an attribute)."""
    import tinycss2

    from .css import tokens

    found: list[str] = []
    if sheet:
        rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
        values: list[Any] = []
        for rule in rules:
            if rule.type == "at-rule" and rule.lower_at_keyword == "import":
                found.append("@import")
            if rule.type in ("at-rule", "qualified-rule"):
                values += [*rule.prelude, *(rule.content or [])]
    else:
        values = tinycss2.parse_component_value_list(css, skip_comments=True)
    for t in tokens(values):
        if t.type == "url":
            found.append(t.value)
        elif t.type == "at-keyword" and t.lower_value == "import":
            found.append("@import")
        elif t.type == "function" and t.lower_name in ("url", "src", "image", "image-set"):
            found += [arg.value for arg in t.arguments if arg.type == "string"]
    return found


def _check_css(name: str, css: str, sheet: bool = False) -> None:
    for ref in css_references(css, sheet):
        if ref == "@import":
            raise ImageProblem(_external(name, "@import"))
        if not _local_ref(ref):
            raise ImageProblem(_external(name, ref))
        _check_data_url(name, ref)


def _length(value: str | None) -> float | None:
    if not value:
        return None
    m = _LENGTH.match(value)
    if m is None or m.group(2).lower() not in _UNITS:
        return None  # a percentage or a unit without a size: the viewBox decides
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def _view_box(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    parts = re.split(r"[\s,]+", value.strip())
    try:
        w, h = float(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        return None
    return (w, h) if w > 0 and h > 0 else None


def fit(image: Image, max_width: float) -> tuple[float, float]:
    """The image's print size (points), scaled down to ``max_width`` when wider."""
    if image.width <= max_width:
        return image.width, image.height
    return max_width, image.height * max_width / image.width


def front_matter_images(front: Any) -> list[tuple[str, str, str]]:
    """(key, file name, alt key) of every image the front matter names: the letterhead's
    logo and the signer's signature."""
    out: list[tuple[str, str, str]] = []
    for section, key, alt in (("letterhead", "logo", "logo_alt"),
                              ("signer", "signature", "signature_alt")):
        value = front.get(section) if isinstance(front, Mapping) else None
        # a list or keys is refused by the letterhead check, not read as a file name
        if isinstance(value, Mapping) and value.get(key) \
                and isinstance(value.get(key), str | int | float):
            out.append((f"{section}.{key}", str(value.get(key)), f"{section}.{alt}"))
    return out

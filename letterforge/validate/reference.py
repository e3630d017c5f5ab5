"""A reference document (reference.docx): a real Word document, of a size it may expand to."""

from __future__ import annotations

from ..errors import Problem

REFERENCE_MAX_BYTES = 64 * 1024 * 1024  # what a reference document may expand to


def reference_docx_problems(data: bytes, shown: str) -> list[Problem]:
    """A reference document must be a Word package of a sane size: a few kB of styles,
    perhaps a logo; never a part that expands to gigabytes."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return [Problem(shown, None, None, f"is not a Word document python-docx can open "
                        f"({exc}); save it again from Word or LibreOffice as .docx")]
    total = sum(i.file_size for i in infos)
    if total > REFERENCE_MAX_BYTES:
        biggest = max(infos, key=lambda i: i.file_size)
        return [Problem(shown, None, None,
                        f"expands to {total // (1024 * 1024)} MB ({biggest.filename}: "
                        f"{biggest.file_size // (1024 * 1024)} MB); a reference document "
                        f"may expand to {REFERENCE_MAX_BYTES // (1024 * 1024)} MB at most: "
                        "keep only the styles, headers and footers in it")]
    try:
        import docx

        docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds on a broken package
        return [Problem(shown, None, None, f"is not a Word document python-docx can open "
                        f"({exc}); save it again from Word or LibreOffice as .docx")]
    return []

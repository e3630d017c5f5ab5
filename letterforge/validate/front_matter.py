"""The front matter's settings: the e-mail template's headers, and the letterhead, footer
and signature of the letter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import Problem
from .rows import check_email, split_emails


def email_settings_problems(front_matter: Any, shown: str) -> list[Problem]:
    """What is wrong with the e-mail template's own settings (sender, reply-to, bcc)."""
    from email.utils import parseaddr

    out: list[Problem] = []
    sender = front_matter.get("from")
    if not sender or not isinstance(sender, str):
        out.append(Problem(shown, None, "from",
                           "no sender: add 'from: Name <address>' to the front matter"))
        return out
    _, addr = parseaddr(sender)
    reason = check_email(addr) if addr else "no address"
    if reason:
        out.append(Problem(shown, None, "from",
                           f"{sender!r} is not a valid sender address: {reason}"))
    for key in ("reply_to", "bcc"):
        value = front_matter.get(key)
        if value is None:
            continue
        for address in split_emails(str(value)):
            reason = check_email(parseaddr(address)[1] or address)
            if reason:
                out.append(Problem(shown, None, key,
                                   f"{address!r} is not a valid e-mail address: {reason}"))
    return out


LETTERHEAD_KEYS = ("logo", "logo_alt", "name", "address", "contact")


FOOTER_KEYS = ("text", "pages")


_NOT_TEXT = ("write it as one line of text (in quotes if it is yes, no, true, false or a "
             "date): a list or keys would print as Python's brackets in the letter")


#: A letterhead or footer line this long cannot fit its margin (and WeasyPrint takes
#: half a minute to lay out a margin box of 3,000 characters before that is found).
MAX_FURNITURE_LINE = 200


def _too_long(problem: Any, section: str, key: str | None, value: Any) -> None:
    lines = value if isinstance(value, list) else [value]
    longest = max((len(line) for v in lines if _is_text(v)
                   for line in str(v).split("\n")), default=0)
    if longest > MAX_FURNITURE_LINE:
        problem(section, key, f"a line of {longest} characters is too long for the "
                f"{section}: {MAX_FURNITURE_LINE} at most (break it into lines, or shorten it)")


def _is_text(value: Any) -> bool:
    """A front-matter value that prints as the text written: a string or a number (not
    yes/no, which YAML reads as true/false, nor a date, a list or keys)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


Say = Callable[[str, str | None, str], None]  # (section, key, message)


def letterhead_problems(front: Any, images: Any, shown: str, formats: Sequence[str],
                        line_of: Any = None) -> list[Problem]:
    """What is wrong with the front matter's ``letterhead``, ``footer`` and the signer's
    ``signature``: unknown keys (a typo would drop a line silently), a logo or signature
    without its alt text (the PDF must stay PDF/UA-1), an SVG without the PNG the DOCX
    shows in its place. ``line_of(section, key)`` gives a key's line in the file."""
    out: list[Problem] = []

    def problem(section: str, key: str | None, message: str) -> None:
        line = line_of(section, key or section) if line_of is not None else None
        out.append(Problem(shown, line, f"{section}.{key}" if key else section, message))

    _letterhead(front.get("letterhead"), problem)
    _footer(front.get("footer"), problem)
    _signature(front.get("signer"), problem)
    if "docx" in formats:
        for image in images.values():
            if image.kind == "svg" and image.fallback is None:
                png = image.name[: image.name.rfind(".")] + ".png"
                out.append(Problem(shown, None, None, (
                    f"the SVG image {image.name!r} needs a PNG copy beside it for the DOCX "
                    f"({png}): Word and LibreOffice show it where they cannot draw SVG; "
                    "export one from the drawing program, or use a PNG")))
    return out


def _letterhead(head: Any, problem: Say) -> None:
    if head is None:
        return
    if not isinstance(head, dict):
        problem("letterhead", None, "must be keys and values: logo, logo_alt, name, "
                "address (lines), contact")
        return
    for key in head:
        if key not in LETTERHEAD_KEYS:
            problem("letterhead", str(key), f"unknown key {key!r}: the letterhead "
                    f"takes {', '.join(LETTERHEAD_KEYS)}")
    for key in ("address", "contact"):
        value = head.get(key)
        if value is not None and not (_is_text(value) or isinstance(value, list)
                                      and all(_is_text(v) for v in value)):
            problem("letterhead", key, f"write the {key} as lines of text: a list "
                    "(- Rue de l'Exemple 1) or one line (in quotes if it is yes, "
                    "no, true, false or a date)")
    for key in ("logo", "logo_alt", "name"):
        if head.get(key) is not None and not _is_text(head[key]):
            problem("letterhead", key, _NOT_TEXT)
    for key in ("name", "address", "contact"):
        _too_long(problem, "letterhead", key, head.get(key))
    if head.get("logo") and not str(head.get("logo_alt") or "").strip():
        problem("letterhead", "logo", "the logo has no alt text: add 'logo_alt: "
                "<what the logo shows>' (the PDF must stay accessible, PDF/UA-1)")


def _footer(footer: Any, problem: Say) -> None:
    if isinstance(footer, str):
        _too_long(problem, "footer", None, footer)
        return
    if footer is None:
        return
    if not isinstance(footer, dict):
        problem("footer", None, "write the footer as one line (the organisation) or as "
                "text: and pages: keys")
        return
    for key in footer:
        if key not in FOOTER_KEYS:
            problem("footer", str(key), f"unknown key {key!r}: the footer takes "
                    f"{', '.join(FOOTER_KEYS)}")
    if footer.get("text") is not None and not _is_text(footer["text"]):
        problem("footer", "text", _NOT_TEXT)
    for key in ("text", "pages"):
        _too_long(problem, "footer", key, footer.get(key))
    pages = footer.get("pages")
    if pages is not None and ("{page}" not in str(pages) or "{pages}" not in str(pages)):
        problem("footer", "pages", f"{pages!r} must hold {{page}} and {{pages}}, "
                "e.g. 'page {page} of {pages}'")


def _signature(signer: Any, problem: Say) -> None:
    if not isinstance(signer, dict):
        return
    for key in ("signature", "signature_alt"):
        if signer.get(key) is not None and not _is_text(signer[key]):
            problem("signer", key, _NOT_TEXT)
    if signer.get("signature") and not str(signer.get("signature_alt") or "").strip():
        problem("signer", "signature", "the signature image has no alt text: add "
                "'signature_alt: Signature of <name>' (the PDF must stay accessible)")

"""``letterforge proof``: a proof sheet of a rendered batch, for sign-off.

It reads the batch (``manifest.json``, each letter's PDF and e-mail) and renders no
letter again. ``proof.html`` is self-contained (the thumbnails are ``data:`` URIs);
``proof.pdf`` is WeasyPrint's layout of the same HTML, PDF/UA-1 like the letters (every
image has its alt text). The first page sums up the batch (letters, formats, the inputs'
hashes from the manifest, the signatories, the letters' date); then, per letter, a
thumbnail of its first page, the candidate, the recipients (To and Cc of its e-mail;
never Bcc), its number of pages and the words that differ from another letter of the
batch, highlighted.

Both files go into the batch folder, written whole or not at all. The manifest does not
list them, so a later ``render`` carries them over as it does any file of the user's: a
proof describes the batch it was made from (its manifest's sha256 is on the first page,
and in both files' keywords); after a render that changed the batch, ``render`` says the
proof is out of date (:func:`outdated_proofs`): run ``proof`` again.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from . import __version__
from .errors import LetterforgeError, ManifestError, Problem, display_path
from .files import write_atomic
from .lock import BatchLock
from .mailfiles import headers
from .manifest import MANIFEST, LetterEntry, Manifest, file_sha256
from .preview import compare
from .preview.pages import (
    PageImage,
    UnreadablePDF,
    page_count,
    page_images,
    pdf_created,
    pdf_text,
)

PROOF_HTML = "proof.html"
PROOF_PDF = "proof.pdf"
#: the keyword naming the manifest a proof was made from (HTML ``<meta>``, PDF Keywords)
MADE_FROM = "letterforge-manifest-sha256:"
THUMB_WIDTH = 260  # pixels
MAX_SNIPPETS = 6  # per letter; the rest are counted


@dataclass(frozen=True)
class LetterProof:
    entry: LetterEntry
    thumbnail: PageImage
    pages: int
    to: str
    cc: str
    snippets: tuple[compare.Snippet, ...]
    more: int  # differences not shown
    compared_with: str | None
    notes: tuple[str, ...]  # edited or stale files
    status: tuple[tuple[str, str], ...] = ()  # what became of it once sent


@dataclass(frozen=True)
class Summary:
    year: int
    letters: int
    formats: tuple[str, ...]
    inputs: dict[str, str]
    signatories: str
    letters_date: str | None
    letterforge: str
    manifest_sha256: str
    made: str


@dataclass(frozen=True)
class ProofResult:
    html: Path
    pdf: Path
    letters: int
    warnings: list[Problem]


def write_proof(batch: Path, signatories: Path, encoding: str | None = None,
                sheet: str | None = None,
                after_sending: Callable[[Path], Mapping[str, Sequence[tuple[str, str]]]]
                | None = None) -> ProofResult:
    """Read the batch, write proof.html and proof.pdf into it. ``after_sending``: what
    became of each letter once sent (slug -> rows such as ("Sent", "2013-11-05 10:00")),
    read under the batch's lock; the command gives it (``replies`` status), the proof
    only shows it."""
    manifest_path = batch / MANIFEST
    if not manifest_path.is_file():
        raise ManifestError(Problem(display_path(manifest_path), None, None,
                                    "not found: there is no rendered batch here; render it "
                                    "first (letterforge render --year YEAR)"))
    with BatchLock(batch):  # a render never swaps the batch while we read and write it
        manifest = Manifest.read(batch)
        assert manifest is not None
        letters, warnings = read_letters(batch, manifest)
        if after_sending is not None:
            status = after_sending(batch)
            letters = [dataclasses.replace(letter, status=tuple(status.get(
                letter.entry.slug, ()))) for letter in letters]
        summary = Summary(
            year=manifest.year, letters=len(manifest.letters), formats=manifest.formats,
            inputs=dict(manifest.inputs),
            signatories=_signatories(signatories, encoding, sheet, manifest),
            letters_date=_letters_date(batch, manifest),
            letterforge=manifest.letterforge,
            manifest_sha256=file_sha256(manifest_path) or "",
            made=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        )
        page = proof_html(summary, letters)
        pdf = html_to_pdf(page)
        write_atomic(batch / PROOF_HTML, page.encode("utf-8"))
        write_atomic(batch / PROOF_PDF, pdf)
    return ProofResult(batch / PROOF_HTML, batch / PROOF_PDF, len(letters), warnings)


def outdated_proofs(batch: Path) -> list[str]:
    """The proof files in ``batch`` made from another manifest than the batch's (a proof
    from before the last render), by name. A proof that does not say which manifest it
    was made from (an older letterforge's) counts when it is older than the manifest."""
    manifest = batch / MANIFEST
    current = file_sha256(manifest)
    found = []
    for name in (PROOF_HTML, PROOF_PDF):
        path = batch / name
        try:
            data = path.read_bytes()
        except OSError:
            continue
        made_from = _made_from(name, data)
        if made_from is None:
            try:
                older = path.stat().st_mtime < manifest.stat().st_mtime
            except OSError:
                older = False
            if older:
                found.append(name)
        elif made_from != current:
            found.append(name)
    return found


def _made_from(name: str, data: bytes) -> str | None:
    """The manifest sha256 a proof file names, if it names one."""
    import re

    if name == PROOF_PDF:
        from .preview.pages import pdf_keywords

        try:
            text = pdf_keywords(data)
        except UnreadablePDF:
            return None
    else:
        text = data[:4096].decode("utf-8", "replace")
    m = re.search(re.escape(MADE_FROM) + r"([0-9a-f]{64})", text)
    return m[1] if m else None


def read_letters(batch: Path, manifest: Manifest) -> tuple[list[LetterProof], list[Problem]]:
    """Each letter's thumbnail, recipients, pages and differences, from its files."""
    if "pdf" not in manifest.formats:
        raise ManifestError(Problem(display_path(batch / MANIFEST), None, None,
                                    "this batch has no PDFs: the proof sheet shows them; "
                                    "render with pdf among the formats"))
    missing: list[Problem] = []
    warnings: list[Problem] = []
    found: list[tuple[LetterEntry, bytes, bytes | None, list[str]]] = []
    for entry in manifest.letters:
        data: dict[str, bytes] = {}
        notes: list[str] = []
        for f in entry.files:
            path = batch / f.path
            try:
                data[f.format] = path.read_bytes()
            except OSError:
                missing.append(Problem(display_path(path), None, None,
                                       "is missing from the batch: render it again "
                                       f"(letterforge render --year {manifest.year})"))
                continue
            if hashlib.sha256(data[f.format]).hexdigest() != f.sha256:
                note = f"{f.path} was changed after it was rendered"
                notes.append(note)
                warnings.append(Problem(display_path(path), None, None,
                                        "was changed after it was rendered: the proof shows "
                                        "it as it is now"))
        if entry.stale:
            notes.append("its inputs changed since it was rendered (render it again)")
            warnings.append(Problem(entry.source, None, None, f"the letter to "
                                    f"{entry.candidate} is stale: render it again"))
        if "pdf" in data:
            try:
                page_count(data["pdf"])
            except UnreadablePDF as exc:
                pdf_path = next(f.path for f in entry.files if f.format == "pdf")
                missing.append(Problem(display_path(batch / pdf_path), None, None,
                                       f"is not a PDF that can be read ({exc}): render it "
                                       f"again (letterforge render --year {manifest.year})"))
                continue
            found.append((entry, data["pdf"], data.get("eml"), notes))
    if missing:
        raise ManifestError(missing)

    texts = [compare.words(pdf_text(pdf)) for _, pdf, _, _ in found]
    letters = []
    for i, (entry, pdf, eml, notes) in enumerate(found):
        ref = (i + 1) % len(found) if len(found) > 1 else None
        snippets: list[compare.Snippet] = []
        if ref is not None:
            marks = compare.differing_words(texts[i], texts[ref])
            snippets = compare.snippets(texts[i], marks)
        thumb = page_images(pdf, THUMB_WIDTH, first=1)
        to, cc = _recipients(eml)
        letters.append(LetterProof(
            entry=entry, thumbnail=thumb[0], pages=page_count(pdf), to=to, cc=cc,
            snippets=tuple(snippets[:MAX_SNIPPETS]),
            more=max(0, len(snippets) - MAX_SNIPPETS),
            compared_with=found[ref][0].candidate if ref is not None else None,
            notes=tuple(notes)))
    return letters, warnings


def _recipients(eml: bytes | None) -> tuple[str, str]:
    """To and Cc of the e-mail (Bcc is never shown)."""
    if eml is None:
        return "", ""
    msg = headers(eml)
    return str(msg["To"] or ""), str(msg["Cc"] or "")


def _signatories(path: Path, encoding: str | None, sheet: str | None,
                 manifest: Manifest) -> str:
    from .load import read_table
    from .validate.rows import signatories_for_year

    try:
        table = read_table(path, encoding=encoding, sheet=sheet, role="signatories")
    except LetterforgeError:
        return f"not known ({display_path(path)} cannot be read)"
    if table.year_sha256(manifest.year) != manifest.inputs.get("signatories"):
        return (f"not known: {display_path(path)} has changed since the batch was rendered "
                "(render again, then make the proof)")
    rows, _ = signatories_for_year(table, manifest.year)
    return str(len(rows))


def _letters_date(batch: Path, manifest: Manifest) -> str | None:
    for entry in manifest.letters:
        for f in entry.files:
            if f.format == "pdf":
                try:
                    return pdf_created((batch / f.path).read_bytes())
                except (OSError, UnreadablePDF):
                    return None
    return None


# ----- the sheet ----------------------------------------------------------------------

STYLE = """
@page { size: A4; margin: 14mm 14mm 16mm;
  @bottom-center { content: "Proof sheet " counter(page) " / " counter(pages);
    font-size: 8pt; color: #555; } }
html { font-family: "Liberation Sans", Arial, sans-serif; font-size: 10pt; color: #111; }
body { margin: 0 auto; max-width: 75rem; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 12pt; margin: 0 0 2mm; }
.summary { break-after: page; }
table { border-collapse: collapse; margin: 0 0 5mm; }
th, td { text-align: left; vertical-align: top; padding: 1mm 3mm 1mm 0;
  border-bottom: 0.3pt solid #bbb; }
code { font-family: "Liberation Mono", monospace; font-size: 8pt; word-break: break-all; }
.signoff { margin-top: 12mm; }
.signoff p { margin: 8mm 0 0; }
.letter { break-inside: avoid; display: flow-root; border: 0.5pt solid #999;
  padding: 3mm; margin: 0 0 4mm; }
.letter figure { float: left; width: 42mm; margin: 0 4mm 0 0; }
.letter img.thumb { width: 100%; height: auto; border: 0.3pt solid #777; display: block; }
.letter table { margin: 0 0 2mm; }
h3 { font-size: 10pt; margin: 0 0 1mm; }
.diff { margin: 0 0 1mm; }
mark { background: #ffe066; }
.note { color: #8a0000; font-weight: bold; }
@media screen {
  body { padding: 1.5rem; background: #f3f3f3; }
  .summary { margin-bottom: 2rem; }
  .letters { display: grid; grid-template-columns: repeat(auto-fill, minmax(34rem, 1fr));
    gap: 1rem; }
  .letter { background: #fff; margin: 0; }
}
"""


def proof_html(summary: Summary, letters: Sequence[LetterProof]) -> str:
    e = escape
    title = f"Proof sheet: the {summary.year} letters"
    inputs = "".join(f"<tr><th scope=\"row\">{e(k)}</th><td><code>{e(v)}</code></td></tr>"
                     for k, v in sorted(summary.inputs.items()))
    rows = [
        ("Letters", str(summary.letters)),
        ("Formats", ", ".join(summary.formats)),
        ("Signatories", summary.signatories),
        ("Date of the letters", summary.letters_date or "not recorded"),
        ("Rendered by", f"letterforge {summary.letterforge}"),
    ]
    facts = "".join(f"<tr><th scope=\"row\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    cards = "\n".join(_card(letter) for letter in letters)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(title)}</title>
<meta name="generator" content="letterforge {e(__version__)}">
<meta name="keywords" content="{MADE_FROM}{e(summary.manifest_sha256)}">
<style>{STYLE}</style>
</head>
<body>
<section class="summary">
<h1>{e(title)}</h1>
<table>{facts}</table>
<h2>Inputs (sha256, from the manifest)</h2>
<table>{inputs}</table>
<p>Made {e(summary.made)} from manifest.json
<code>{e(summary.manifest_sha256)}</code>. Highlighted words differ from the letter
named beside them.</p>
<div class="signoff">
<h2>Sign-off</h2>
<p>Checked by: ______________________________ Date: ________________</p>
<p>Approved by: _____________________________ Date: ________________</p>
</div>
</section>
<section class="letters" aria-label="The letters">
{cards}
</section>
</body>
</html>
"""


def _card(letter: LetterProof) -> str:
    e = escape
    entry = letter.entry
    src = "data:image/png;base64," + base64.b64encode(letter.thumbnail.png).decode()
    alt = f"First page of the letter to {entry.candidate}"
    rows = [("To", letter.to or "no e-mail in this batch")]
    if letter.cc:
        rows.append(("Cc", letter.cc))
    rows.append(("Pages", str(letter.pages)))
    rows.append(("Files", ", ".join(f.path for f in entry.files)))
    rows.extend(letter.status)
    facts = "".join(f"<tr><th scope=\"row\">{e(k)}</th><td>{e(v)}</td></tr>"
                    for k, v in rows)
    if letter.compared_with is None:
        diff = "<p>The only letter of the batch: nothing to compare with.</p>"
    elif not letter.snippets:
        diff = f"<p>Word for word the same as the letter to {e(letter.compared_with)}.</p>"
    else:
        parts = []
        for s in letter.snippets:
            text = " ".join(f"<mark>{e(w)}</mark>" if d else e(w) for w, d in s.words)
            parts.append(f"<p class=\"diff\">{'… ' if s.cut_before else ''}{text}"
                         f"{' …' if s.cut_after else ''}</p>")
        if letter.more:
            parts.append(f"<p>and {letter.more} more passage"
                         f"{'s' if letter.more != 1 else ''} that differ.</p>")
        diff = (f"<h3 class=\"diff-head\">Differs from the letter to "
                f"{e(letter.compared_with)}</h3>" + "".join(parts))
    notes = "".join(f"<p class=\"note\">Note: {e(n)}</p>" for n in letter.notes)
    name = f" ({e(entry.name)})" if entry.name != entry.candidate else ""
    return f"""<article class="letter" id="letter-{e(entry.slug)}">
<figure><img class="thumb" src="{src}" alt="{e(alt)}" width="{letter.thumbnail.width}"
 height="{letter.thumbnail.height}"></figure>
<h2>{e(entry.candidate)}{name}</h2>
{notes}<table class="facts">{facts}</table>
{diff}
</article>"""


def html_to_pdf(page: str) -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=page).write_pdf(pdf_variant="pdf/ua-1")
    assert isinstance(pdf, bytes)
    return pdf

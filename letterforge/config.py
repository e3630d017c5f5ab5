"""What a command is asked to work on: the campaign file, the input files and the
options of a render.

The defaults are the layout of a campaign folder: ``candidates.csv``, ``signatories.csv``
and ``templates/letter.md`` (with ``email.md`` beside it). A campaign file,
``letterforge.toml``, found in the working folder or a parent (as git finds ``.git``),
can name other inputs, their encodings, the output folder and the SMTP server; its
paths are relative to its own folder. Options given on the command line win over it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, UsageError, display_path

CAMPAIGN_FILE = "letterforge.toml"

FORMATS = ("docx", "pdf", "eml")
DEFAULT_FORMATS = FORMATS


@dataclass(frozen=True)
class Inputs:
    candidates: Path = Path("candidates.csv")
    signatories: Path = Path("signatories.csv")
    template: Path = Path("templates/letter.md")
    encoding: str | None = None  # for a CSV file that is not UTF-8
    email_template: Path | None = None  # default: email.md beside the letter template
    # per file, over ``encoding``: {"candidates": "cp1252"}
    encodings: Mapping[str, str] = field(default_factory=dict)
    #: the folder paths are recorded relative to (the campaign folder; else the working one)
    root: Path | None = None
    #: per spreadsheet (.xlsx, .ods), the sheet to read: {"candidates": "2013"}
    sheets: Mapping[str, str] = field(default_factory=dict)
    #: the template was given on the command line (--template): used as it is, never
    #: swapped for an archived year's (see :func:`letterforge.plan.prepare`)
    template_given: bool = False

    @property
    def email_template_path(self) -> Path:
        return self.email_template or self.template.parent / "email.md"

    def encoding_of(self, name: str) -> str | None:
        """The encoding to read the CSV file ``name`` ("candidates", "signatories") with
        when it is not UTF-8."""
        return self.encodings.get(name) or self.encoding

    def sheet_of(self, name: str) -> str | None:
        """The sheet to read of the spreadsheet ``name`` ("candidates", "signatories"),
        when the campaign file names one."""
        return self.sheets.get(name)

    def record(self) -> dict[str, Any]:
        """The inputs as the manifest records them: paths relative to the campaign folder
        (or the working folder), or absolute when outside it."""
        base = Path(os.path.abspath(self.root or Path.cwd()))

        def rel(path: Path) -> str:
            p = Path(os.path.abspath(path))
            for a, b in ((p, base), (p.resolve(), base.resolve())):
                try:
                    return a.relative_to(b).as_posix()
                except ValueError:
                    pass
            return str(p)

        out: dict[str, Any] = {
            "candidates": rel(self.candidates), "signatories": rel(self.signatories),
            "template": rel(self.template), "email_template": rel(self.email_template_path),
        }
        for name in ("candidates", "signatories"):
            enc = self.encoding_of(name)
            if enc:
                out[f"{name}_encoding"] = enc
            if self.sheet_of(name):
                out[f"{name}_sheet"] = self.sheet_of(name)
        return out


#: Where new-year keeps last year's templates: templates/archive/<year>/ (the commands of
#: a past year read them from there).
ARCHIVE = "archive"


@dataclass(frozen=True)
class Options:
    """What to render: the year, an optional date, the formats, which letters."""

    year: int
    date: dt.date | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    only: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None
    #: the time every embedded date takes, when the batch recorded one (verify); None:
    #: SOURCE_DATE_EPOCH from the environment, if set
    source_date_epoch: int | None = None


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server from the campaign file (never a password: that comes from the
    environment or a command only). ``None``: not set there."""

    host: str | None = None
    port: int | None = None
    security: str | None = None  # starttls, tls or none
    user: str | None = None


@dataclass(frozen=True)
class ImapSettings:
    """The campaign's mailbox, read by ``replies`` (the password never comes from here).
    ``None``/empty: not set in the campaign file."""

    host: str | None = None
    port: int | None = None
    security: str | None = None  # tls, starttls or none
    user: str | None = None
    folders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Campaign:
    """The campaign file's settings, paths resolved against its folder. Without a file:
    the defaults, relative to the working folder."""

    path: Path | None = None  # the letterforge.toml, when there is one
    candidates: Path | None = None
    signatories: Path | None = None
    template: Path | None = None
    email_template: Path | None = None
    encoding: str | None = None
    encodings: Mapping[str, str] = field(default_factory=dict)
    sheets: Mapping[str, str] = field(default_factory=dict)
    out: Path | None = None
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    def inputs(self, candidates: Path | None = None, signatories: Path | None = None,
               template: Path | None = None, email_template: Path | None = None,
               encoding: str | None = None) -> Inputs:
        """Inputs from the command line's options over the campaign file over the
        defaults. An --encoding given on the command line applies to both CSV files."""
        default = Inputs()
        root = self.root

        def pick(given: Path | None, mine: Path | None, fallback: Path) -> Path:
            if given is not None:
                return given
            if mine is not None:
                return mine
            return root / fallback if root is not None else fallback

        return Inputs(
            candidates=pick(candidates, self.candidates, default.candidates),
            signatories=pick(signatories, self.signatories, default.signatories),
            template=pick(template, self.template, default.template),
            encoding=encoding or self.encoding,
            email_template=email_template if email_template is not None
            else self.email_template if template is None else None,
            encodings={} if encoding else dict(self.encodings),
            root=root,
            sheets=dict(self.sheets),
            template_given=template is not None,
        )

    def out_root(self, given: Path | None) -> Path:
        if given is not None:
            return given
        if self.out is not None:
            return self.out
        return self.root / "out" if self.root is not None else Path("out")


#: section -> key -> (type, what it is) of every setting the campaign file may hold
CAMPAIGN_KEYS: dict[str, dict[str, tuple[type, str]]] = {
    "inputs": {
        "candidates": (str, "the candidates CSV"),
        "signatories": (str, "the signatories CSV"),
        "template": (str, "the master letter"),
        "email_template": (str, "the e-mail template"),
        "encoding": (str, "the encoding of a CSV file that is not UTF-8"),
        "candidates_encoding": (str, "the encoding of the candidates CSV if not UTF-8"),
        "signatories_encoding": (str, "the encoding of the signatories CSV if not UTF-8"),
        "candidates_sheet": (str, "the sheet of a candidates spreadsheet that has several"),
        "signatories_sheet": (str, "the sheet of a signatories spreadsheet that has several"),
    },
    "output": {"folder": (str, "the output root (batches go to FOLDER/YEAR)")},
    "smtp": {
        "host": (str, "the SMTP server"),
        "port": (int, "its port"),
        "security": (str, "starttls, tls or none"),
        "user": (str, "the user to log in as (the password never goes here)"),
    },
    "imap": {
        "host": (str, "the IMAP server replies are read from"),
        "port": (int, "its port"),
        "security": (str, "tls, starttls or none"),
        "user": (str, "the user to log in as (the password never goes here)"),
        "folders": (str, "the folders to read, comma-separated (default: INBOX)"),
    },
}

CAMPAIGN_EXAMPLE = """\
# letterforge.toml: the campaign's settings. Paths are relative to this file's folder.
[inputs]
candidates = "candidates.csv"
signatories = "signatories.csv"
template = "templates/letter.md"
# email_template = "templates/email.md"
# encoding = "cp1252"              # for a CSV file that is not UTF-8
# signatories_encoding = "cp1252"  # or per file
# candidates = "candidates.xlsx"   # a spreadsheet (.xlsx, .ods) is read directly
# candidates_sheet = "2013"        # its sheet, when it has several

[output]
folder = "out"

[smtp]
# host = "smtp.example.org"
# port = 587
# security = "starttls"
# user = "campaigns@example.org"   # the password: LETTERFORGE_SMTP_PASSWORD

[imap]                             # the mailbox replies come to (letterforge replies)
# host = "imap.example.org"
# security = "tls"                 # port 993; starttls: 143
# user = "campaigns@example.org"   # the password: LETTERFORGE_IMAP_PASSWORD
# folders = "INBOX"
"""


def find_campaign_file(start: Path | None = None) -> Path | None:
    """letterforge.toml in ``start`` (the working folder) or the nearest parent."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / CAMPAIGN_FILE
        if candidate.is_file():
            return candidate
    return None


def load_campaign(start: Path | None = None) -> Campaign:
    """The campaign file found from ``start``, or the defaults when there is none."""
    path = find_campaign_file(start)
    if path is None:
        return Campaign()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(display_path(path), None, None,
                                 f"cannot be read: {exc.strerror}")) from exc
    return parse_campaign(data, path)


def _line_of(lines: list[str], section: str | None, key: str | None) -> int | None:
    """The line of ``[section]`` (or of ``key`` in it): tomllib does not say."""
    current: str | None = None
    for i, line in enumerate(lines, 1):
        m = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if m:
            current = m.group(1).strip().strip('"')
            if key is None and current == section:
                return i
            continue
        if key is not None and current == section and re.match(
                rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return i
    return None


# Complexity over 20, kept: one check per key of the campaign file, each with its own message.
def parse_campaign(data: bytes, path: Path) -> Campaign:
    """Check and resolve a campaign file; any mistake is an error naming its line."""
    shown = display_path(path)
    root = path.parent
    try:
        text = data.decode("utf-8-sig")
        doc = tomllib.loads(text)
    except RecursionError:
        raise InputError(Problem(shown, None, None, "is nested too deeply to read (arrays "
                                 "or tables inside each other hundreds of times): a "
                                 "campaign file holds flat settings")) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(Problem(shown, line, None, "is not UTF-8 text: save the campaign "
                                 "file as UTF-8")) from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib (before 3.14) says where only in its message: "... (at line 3, column 9)"
        m = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc)) or str(exc)
        raise InputError(Problem(shown, int(m.group(1)) if m else None, None,
                                 f"not valid TOML ({reason}): write settings as "
                                 "key = \"value\" under [inputs], [output] or [smtp]")
                         ) from exc
    lines = text.splitlines()
    problems: list[Problem] = []
    values: dict[str, dict[str, Any]] = {}
    for section, content in doc.items():
        known = CAMPAIGN_KEYS.get(section)
        if known is None or not isinstance(content, dict):
            problems.append(Problem(
                shown, _line_of(lines, section, None) or _line_of(lines, None, section),
                None, f"unknown setting {section!r}: the campaign file has the sections "
                f"{', '.join('[' + s + ']' for s in CAMPAIGN_KEYS)}; remove it or fix the name"))
            continue
        for key, value in content.items():
            where = _line_of(lines, section, key)
            if key not in known:
                problems.append(Problem(
                    shown, where, None, f"unknown setting {key!r} in [{section}]: it may hold "
                    f"{', '.join(known)}; remove it or fix the name"))
                continue
            kind, what = known[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                want = "a number" if kind is int else "text in quotes"
                problems.append(Problem(
                    shown, where, None, f"[{section}] {key} is {what}: write {want}, "
                    f"not {value!r}"))
                continue
            values.setdefault(section, {})[key] = value
    inputs = values.get("inputs", {})
    smtp = values.get("smtp", {})
    for name in ("encoding", "candidates_encoding", "signatories_encoding"):
        enc = inputs.get(name)
        if enc is not None and not _known_encoding(enc):
            problems.append(Problem(shown, _line_of(lines, "inputs", name), None,
                                    f"unknown encoding {enc!r}: write e.g. \"cp1252\" or "
                                    "\"latin-1\""))
    for section in ("smtp", "imap"):
        security = values.get(section, {}).get("security")
        if security is not None and security not in ("starttls", "tls", "none"):
            problems.append(Problem(shown, _line_of(lines, section, "security"), None,
                                    f"[{section}] security is {security!r}: write "
                                    "starttls, tls or none"))
    imap = values.get("imap", {})
    problems.extend(_path_problems(values, lines, shown, root))
    if problems:
        raise InputError(problems)

    def resolve(value: str | None) -> Path | None:
        return root / value if value is not None else None

    return Campaign(
        path=path,
        candidates=resolve(inputs.get("candidates")),
        signatories=resolve(inputs.get("signatories")),
        template=resolve(inputs.get("template")),
        email_template=resolve(inputs.get("email_template")),
        encoding=inputs.get("encoding"),
        encodings={name: inputs[f"{name}_encoding"] for name in ("candidates", "signatories")
                   if f"{name}_encoding" in inputs},
        sheets={name: inputs[f"{name}_sheet"] for name in ("candidates", "signatories")
                if f"{name}_sheet" in inputs},
        out=resolve(values.get("output", {}).get("folder")),
        smtp=SmtpSettings(smtp.get("host"), smtp.get("port"), smtp.get("security"),
                          smtp.get("user")),
        imap=ImapSettings(imap.get("host"), imap.get("port"), imap.get("security"),
                          imap.get("user"),
                          tuple(f.strip() for f in imap.get("folders", "").split(",")
                                if f.strip())),
    )


#: The settings that name a file or folder, by section.
PATH_SETTINGS = {"inputs": ("candidates", "signatories", "template", "email_template"),
                 "output": ("folder",)}


def _path_problems(values: dict[str, dict[str, Any]], lines: list[str], shown: str,
                   root: Path) -> list[Problem]:
    """Paths must name something inside the campaign folder (the folder of the campaign
    file): a campaign file copied from elsewhere cannot make letterforge read, show or
    write outside it. A file elsewhere is given on the command line (--candidates,
    --out ...), where the person running the command sees it."""
    out = []
    base = os.path.normpath(root.absolute())
    for section, keys in PATH_SETTINGS.items():
        for key in keys:
            value = values.get(section, {}).get(key)
            if value is None:
                continue
            where = _line_of(lines, section, key)
            if not value.strip() or any(ord(ch) < 32 for ch in value):
                out.append(Problem(shown, where, None, f"[{section}] {key} is not a file "
                                   "name: write the path in quotes, without control "
                                   "characters"))
                continue
            full = os.path.normpath(os.path.join(base, value))
            if full != base and not full.startswith(base + os.sep):
                flag = "--out" if key == "folder" else f"--{key.replace('_', '-')}"
                out.append(Problem(shown, where, None, f"[{section}] {key} = {value!r} is "
                                   "outside the campaign folder (the folder of this file): "
                                   f"keep the campaign's files in it, or give {flag} on the "
                                   "command line"))
    return out


def _known_encoding(name: str) -> bool:
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def newest_year(years: Sequence[int]) -> int | None:
    return max(years) if years else None


def parse_formats(value: str | Sequence[str] | None, needs: dict[str, tuple[str, ...]]
                  ) -> tuple[str, ...]:
    """'docx,pdf' -> ('docx', 'pdf'), with what each format needs added before it."""
    if value is None:
        return DEFAULT_FORMATS
    parts = value.split(",") if isinstance(value, str) else list(value)
    formats: list[str] = []
    for part in parts:
        name = part.strip().lower()
        if not name:
            continue
        if name not in needs:
            raise UsageError(
                f"--format: unknown format {name!r}; choose from {', '.join(needs)}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise UsageError(f"--format: give at least one of {', '.join(needs)}")
    for name in list(formats):
        for needed in needs[name]:  # the e-mail carries the PDF: eml implies pdf
            if needed not in formats:
                formats.insert(formats.index(name), needed)
    return tuple(formats)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(f"--shard: {value!r} is not K/N with 1 <= K <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date: {value!r} is not a date: write YYYY-MM-DD") from None
    if day.year > 2107:
        raise UsageError(f"--date: {value} is past 2107-12-31, the last day a DOCX (a zip "
                         "file) can record")
    return day


def batch_inputs(campaign: Campaign, recorded: Mapping[str, Any], *,
                 candidates: Path | None = None, signatories: Path | None = None,
                 template: Path | None = None, email_template: Path | None = None,
                 encoding: str | None = None, date: dt.date | None = None
                 ) -> tuple[Inputs, dt.date | None]:
    """The inputs and date a batch was rendered with (its manifest's ``options``), under
    what the command line gives; the campaign file and the defaults for the rest."""
    base = campaign.root or Path.cwd()

    def was(key: str) -> Path | None:
        value = recorded.get(key)
        return base / str(value) if isinstance(value, str) and value else None

    inputs = campaign.inputs(
        candidates or was("candidates"), signatories or was("signatories"),
        template or was("template"),
        email_template or (was("email_template") if template is None else None), encoding)
    # the recorded template is what the batch asked for, not a --template of this run: a
    # past year's may be read from the archive (see plan.prepare)
    inputs = dataclasses.replace(inputs, template_given=template is not None)
    if encoding is None:
        recorded_enc = {name: str(recorded[f"{name}_encoding"])
                        for name in ("candidates", "signatories")
                        if recorded.get(f"{name}_encoding")}
        if recorded_enc:
            inputs = dataclasses.replace(inputs, encoding=None, encodings=recorded_enc)
    recorded_sheets = {name: str(recorded[f"{name}_sheet"]) for name in ("candidates",
                       "signatories") if recorded.get(f"{name}_sheet")}
    if recorded_sheets:
        inputs = dataclasses.replace(inputs, sheets={**inputs.sheets, **recorded_sheets})
    if date is None and isinstance(recorded.get("date"), str):
        date = parse_date(recorded["date"])
    return inputs, date

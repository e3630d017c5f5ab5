"""verify: prove a batch is what the data and templates produce.

``verify_batch`` re-renders the batch in a temporary folder from the same inputs and
compares every file, byte for byte, with the batch on disk and with its manifest.
``verify_files`` checks published files (a PDF someone downloaded) against a manifest.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import Inputs, Options
from .errors import Problem, VerifyError, display_path
from .manifest import MANIFEST, Manifest, file_sha256


@dataclass
class Difference:
    path: str
    candidate: str | None
    problem: str

    def __str__(self) -> str:
        who = f" ({self.candidate})" if self.candidate else ""
        return f"{self.path}{who}: {self.problem}"


@dataclass
class VerifyReport:
    batch: Path
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    matched: list[tuple[str, str, str | None]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {"batch": str(self.batch), "identical": self.identical,
                "files_checked": self.checked,
                "matched": [{"file": f, "path": r, "candidate": c} for f, r, c in self.matched],
                "differences": [{"path": d.path, "candidate": d.candidate,
                                 "problem": d.problem} for d in self.differences]}


def _load(batch: Path) -> Manifest:
    manifest = Manifest.read(batch)
    if manifest is None:
        raise VerifyError(Problem(display_path(batch / MANIFEST), None, None,
                                  "no manifest: not a rendered batch (run 'letterforge "
                                  f"render --year {batch.name}' first, or give --out)"))
    return manifest


def verify_recorded_batch(campaign: Any, out_root: Path, year: int, *,
                          candidates: Path | None, signatories: Path | None,
                          template: Path | None, email_template: Path | None,
                          encoding: str | None, date: Any, jobs: int | None
                          ) -> VerifyReport:
    """Verify OUT/YEAR against the inputs and options its manifest records (the campaign
    file's and these ones, for the inputs that moved since)."""
    from .config import batch_inputs

    recorded = Manifest.read(out_root / str(year))
    inputs, when = batch_inputs(campaign, recorded.options if recorded else {},
                                candidates=candidates, signatories=signatories,
                                template=template, email_template=email_template,
                                encoding=encoding, date=date)
    epoch = recorded.options.get("source_date_epoch") if recorded else None
    return verify_batch(inputs, Options(year, when, source_date_epoch=epoch if isinstance(
        epoch, int) else None), out_root, jobs)


def verify_batch(inputs: Inputs, options: Options, out_root: Path,
                 jobs: int | None) -> VerifyReport:
    from .plan import prepare
    from .render import render_batch

    batch = out_root / str(options.year)
    manifest = _load(batch)
    shard_info = manifest.shard
    shard = (int(shard_info["index"]), int(shard_info["count"])) if shard_info else None
    plan = prepare(inputs, replace(options, formats=manifest.formats, shard=shard))
    report = VerifyReport(batch)
    owners = manifest.owners()
    in_batch = {e.slug for e in manifest.letters}
    if manifest.options.get("only"):
        # a batch rendered with --only holds those letters (and the ones it kept): verify
        # exactly the letters it holds, not the whole year
        chosen = tuple(c for c in plan.all_candidates if c.slug in in_batch)
        plan = dataclasses.replace(plan, candidates=chosen, options=replace(
            plan.options, only=tuple(c.slug for c in chosen)))
    with tempfile.TemporaryDirectory(prefix="letterforge-verify-") as tmp:
        render_batch(plan, Path(tmp), force=True, jobs=jobs)
        fresh_dir = Path(tmp) / str(options.year)
        fresh = _load(fresh_dir)
        owners.update(fresh.owners())
        old_sha, new_sha = manifest.digests(), fresh.digests()
        for rel in sorted(set(old_sha) | set(new_sha)):
            report.checked += 1
            who = owners.get(rel)
            on_disk = batch / rel
            if rel not in new_sha:
                report.differences.append(Difference(rel, who, "in the batch, but the inputs "
                                                     "do not produce it"))
                continue
            if rel not in old_sha or not on_disk.is_file():
                report.differences.append(Difference(rel, who, "missing from the batch"))
                continue
            disk = file_sha256(on_disk)
            if disk != old_sha[rel]:
                report.differences.append(Difference(rel, who, "changed since it was "
                                                     "rendered (differs from the manifest)"))
            elif disk != new_sha[rel]:
                report.differences.append(Difference(rel, who, "differs from what the "
                                                     "inputs produce now"))
        # the manifest is compared too, but counted apart: "N files", as render says
        if (batch / MANIFEST).read_bytes() != (fresh_dir / MANIFEST).read_bytes():
            report.differences.append(Difference(MANIFEST, None, "differs from the manifest "
                                                 "the inputs produce now: "
                                                 + manifest_changes(manifest, fresh)))
    return report


#: How a manifest names its inputs, for people.
_INPUT_NAMES = {"candidates": "the candidates file", "signatories": "the signatories file",
                "template": "the letter template", "stylesheet": "the stylesheet",
                "email_template": "the e-mail template"}


def manifest_changes(old: Manifest, new: Manifest) -> str:
    """What differs between the batch's manifest and the one the inputs produce now,
    in words: which input files changed, the options, letterforge's version."""
    said = []
    for key in sorted(set(old.inputs) | set(new.inputs)):
        if old.inputs.get(key) != new.inputs.get(key):
            lang = key.partition(".")[2]
            name = _INPUT_NAMES.get(key.partition(".")[0], key)
            what = f"{name} in {lang!r}" if lang else name
            path = new.options.get(key) or old.options.get(key)
            said.append(f"{what}{f' ({path})' if path else ''} changed since the batch "
                        "was rendered")
    if old.options != new.options:
        keys = sorted(k for k in set(old.options) | set(new.options)
                      if old.options.get(k) != new.options.get(k))
        said.append("the options it was rendered with differ (" + ", ".join(keys) + ")")
    if old.letterforge != new.letterforge:
        said.append(f"it was rendered by letterforge {old.letterforge}, this is "
                    f"{new.letterforge}")
    if (old.formats, old.shard) != (new.formats, new.shard):
        said.append("its formats or its shard differ")
    if not said:
        said.append("the letters' keys differ (letterforge's code, the libraries that "
                    "write the files, or SOURCE_DATE_EPOCH changed since)")
    return "; ".join(said)


def verify_files(files: Sequence[Path], manifest_path: Path) -> VerifyReport:
    """Check files (published copies) against a manifest, by content."""
    batch = manifest_path.parent
    if manifest_path.name != MANIFEST:
        raise VerifyError(Problem(display_path(manifest_path), None, None,
                                  "not a manifest.json"))
    manifest = _load(batch)
    by_sha: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for rel, digest in manifest.digests().items():
        by_sha.setdefault(digest, rel)
        by_name[Path(rel).name] = rel
    owners = manifest.owners()
    report = VerifyReport(batch)
    for path in files:
        report.checked += 1
        found = file_sha256(path)
        if found is None:
            raise VerifyError(Problem(display_path(path), None, None,
                                      "cannot be read: check the path"))
        if found in by_sha:
            rel = by_sha[found]
            report.matched.append((display_path(path), rel, owners.get(rel)))
            continue
        rel = by_name.get(path.name, "")
        if rel:
            report.differences.append(Difference(
                display_path(path), owners.get(rel),
                f"differs from {rel} in {display_path(manifest_path)}"))
        else:
            report.differences.append(Difference(
                display_path(path), None, f"not in {display_path(manifest_path)}"))
    return report

"""Side-by-side benchmark: letterforge vs. the usual stack (docxtpl + LibreOffice).

Both sides render the same generated batch of N letters:

* letterforge: one ``letterforge render`` of the batch (DOCX + PDF + e-mail each);
* the usual stack: docxtpl fills a DOCX template with the same letter text (built here
  with python-docx from ``templates/letter.md``), one DOCX per letter, then
  ``soffice --headless --convert-to pdf`` converts them, 200 files per call (LibreOffice
  7.4 given 1000 files in one call stopped after 247 and exited 0).

For each side: wall time (median of ``--repeat`` runs, default 3, the two sides
alternating which goes first, with the spread min-max), letters per second and the
peak RSS of the whole process tree (parent and all descendants: the sum of each
process's own peak, the kernel's VmHWM, read every 50 ms); also the peak PSS, which does
not count shared pages (libraries, forked workers) twice, sampled more sparingly (see
TreeSampler: measuring must not take CPU from what it measures). Then, at each size:
letterforge's re-run with nothing changed, ``letterforge --help`` and ``--only <one
letter>`` into a fresh folder (a cold start), each ``--repeat`` times, timed without the
memory sampler (their targets are times; see ``measure``).

Per-stage breakdown: a child process renders a sample of the letters (``--stages``,
default 10, after one untimed letter) through letterforge's own API -- ``prepare``,
``plan.renderer()``, ``renderer.merger.merge``, ``letterforge.parse.parse``, each
``WRITERS[fmt].render`` and ``output.BatchWriter.write`` -- on one core, and prints the
median time per letter of each stage (merge, parse, each writer, write). The writers
come from the ``WRITERS`` table, so a rewritten writer is measured as it is.

    .venv/bin/python benchmarks/bench.py                       # 200 and 1000 letters, 3 runs
    .venv/bin/python benchmarks/bench.py --letters 200 --repeat 1
    .venv/bin/python benchmarks/bench.py --letters 200,1000 --json

Needs ``docxtpl`` and ``psutil`` in the venv (the ``bench`` extra), and ``soffice``.
Progress goes to stderr; the results (table or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # pragma: no cover - a set-up problem, said plainly
    sys.exit("bench.py needs psutil and docxtpl: .venv/bin/pip install 'docxtpl>=0.20' "
             "'psutil>=5.9'")

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2013
SAMPLE_INTERVAL = 0.05  # seconds between two reads of each process's peak RSS
CHILDREN_INTERVAL = 0.25  # seconds between two looks for new processes in the tree
PSS_INTERVAL = 1.0  # seconds between two PSS samples (reading PSS costs ~2 ms a process)
SOFFICE_CHUNK = 200  # files per soffice call (see run_stack)
WORKER_FLAG = "--docxtpl-worker"  # internal: run the docxtpl side in this child process
STAGES_FLAG = "--stages-worker"  # internal: time letterforge's stages in this child process
REGIONS = (
    "African States",
    "Asia-Pacific States",
    "Eastern European States",
    "Latin American and Caribbean States",
    "Western European and other States",
)
MB = 1024 * 1024


class BenchError(Exception):
    """A failed step: printed as one error message, exit status 1."""


# --------------------------------------------------------------------------- measuring


def _status_kib(pid: int, field: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (e.g. VmHWM, the process's own peak RSS,
    kept by the kernel), in bytes; None where there is no such file (not Linux)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _pss(proc: psutil.Process) -> int:
    """A process's PSS in bytes (its RSS where PSS cannot be read)."""
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(proc.memory_info().rss)


#: (sampler CPU seconds, wall seconds) of every measured run, for the closing footnote.
SAMPLER_LOAD: list[tuple[float, float]] = []


class TreeSampler(threading.Thread):
    """The peak memory of a process tree, measured without slowing it down.

    Peak RSS: the sum over every process the tree ever had of that process's own peak
    RSS (the kernel's ``VmHWM``, exact, not sampled), read every ``interval`` seconds
    while the process lives. Peaks of different processes need not coincide, so this is
    an upper bound of the tree's RSS at any one moment. Peak PSS (shared pages split
    between the processes that share them): the highest sum over the tree, sampled
    every ``interval`` for the first half second, then every ``pss_interval`` seconds.

    The sampler's own CPU time is kept (``cpu``): it shares the machine with what it
    measures. An earlier sampler read every process's full memory map (psutil's
    ``memory_full_info``, 12 ms of CPU for a letterforge tree) every 50 ms: 6 s of CPU
    during a 200-letter render that keeps both cores busy, which slowed it by a third,
    while LibreOffice, on one core, left it a free core.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL,
                 children_interval: float = CHILDREN_INTERVAL,
                 pss_interval: float = PSS_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.children_every = max(1, round(children_interval / interval))
        self.pss_every = max(1, round(pss_interval / interval))
        self.pss_first = max(1, round(0.5 / interval))
        self.hwm: dict[int, int] = {}  # pid -> its peak RSS so far
        self.peak_pss = 0
        self.samples = 0
        self.cpu = 0.0
        self._done = threading.Event()

    @property
    def peak_rss(self) -> int:
        return sum(self.hwm.values())

    def _read_peak(self, proc: psutil.Process) -> None:
        peak = _status_kib(proc.pid, "VmHWM")
        if peak is None:  # not Linux: the RSS now, sampled
            with contextlib.suppress(psutil.Error):
                peak = int(proc.memory_info().rss)
        if peak is not None:
            self.hwm[proc.pid] = max(self.hwm.get(proc.pid, 0), peak)

    def run(self) -> None:
        start = time.thread_time()
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        procs = [root]
        tick = 0
        while True:
            if tick % self.children_every == 0:
                with contextlib.suppress(psutil.Error):
                    procs = [root, *root.children(recursive=True)]
            for proc in procs:
                self._read_peak(proc)
            # PSS every tick in the first half second (a short command is over by
            # then), then every pss_interval
            if tick < self.pss_first or tick % self.pss_every == 0:
                pss = 0
                for proc in procs:
                    with contextlib.suppress(psutil.Error):
                        pss += _pss(proc)
                self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1
            tick += 1
            self.cpu = time.thread_time() - start
            if self._done.wait(self.interval):
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


def kill_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@dataclass
class Run:
    label: str
    cmd: list[str]
    wall: float  # seconds
    peak_rss: int  # bytes, summed over the process tree
    peak_pss: int  # the same in PSS
    returncode: int
    stdout: str
    stderr: str
    sampler_cpu: float = 0.0  # seconds of CPU the memory sampler took during the run

    def check(self) -> Run:
        if self.returncode != 0:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-20:])
            raise BenchError(f"{self.label} failed with exit status {self.returncode}:\n"
                             f"  {shlex.join(self.cmd)}\n{tail}")
        return self


def measure(label: str, cmd: Sequence[str], log_dir: Path, *, sample: bool = True) -> Run:
    """Run ``cmd``; its wall time and the peak RSS of its process tree (0 without
    ``sample``: a start-up measured for its time alone, with no sampler taking CPU from
    it while every process of the command starts at once)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")
    out_path, err_path = log_dir / f"{stem}.out", log_dir / f"{stem}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        if sample:
            sampler.start()
        try:
            returncode = proc.wait()
        except BaseException:
            kill_tree(proc.pid)
            proc.wait()
            raise
        finally:
            wall = time.perf_counter() - start
            if sample:
                sampler.stop()
    if sample:
        SAMPLER_LOAD.append((sampler.cpu, wall))
    return Run(label, list(cmd), wall, sampler.peak_rss, sampler.peak_pss, returncode,
               out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
               sampler.cpu)


def capture(cmd: Sequence[str]) -> str:
    """First line of a short command's output, or a note that it failed."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(failed: {exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else f"(no output, exit {done.returncode})"


# --------------------------------------------------------------------------- inputs


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def possessive(name: str) -> str:
    return name + ("'" if name.endswith(("s", "S")) else "'s")


def write_candidates(path: Path, count: int) -> list[str]:
    """A candidates.csv of ``count`` distinct generated candidates; their short names."""
    width = max(4, len(str(count)))
    shorts = [f"Candidate {i:0{width}d}" for i in range(1, count + 1)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["year", "name", "short_name", "email", "region"])
        for i, short in enumerate(shorts):
            writer.writerow([YEAR, f"the Republic of {short}", short,
                             f"mission.{slug(short)}@example.org", REGIONS[i % len(REGIONS)]])
    return shorts


FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
LOOP = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+signatories\s*-?%\}(.*?)\{%-?\s*endfor\s*-?%\}",
                  re.S)
EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
SIGNATORIES_BLOCK = "\x00signatories\x00"


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def letter_blocks(template: Path) -> list[tuple[str, str]]:
    """The letter of ``template`` as (style, text) paragraphs with docxtpl's Jinja tags.

    The candidate's values become ``{{ name }}``, ``{{ possessive }}``, ``{{ short_name }}``
    ...; front-matter values and the date are written in as text (they are the same in
    every letter); the signatories' loop becomes docxtpl paragraph tags.
    """
    import yaml  # a letterforge dependency

    source = template.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(source)
    if not match:
        raise BenchError(f"{template}: no front matter")
    front: dict[str, Any] = yaml.safe_load(match.group(1)) or {}
    body = source[match.end():]
    body = LOOP.sub(f"\n\n{SIGNATORIES_BLOCK}\n\n", body)

    def expr(m: re.Match[str]) -> str:
        text = re.sub(r"\s+", " ", m.group(1))
        if text in ("candidate.name | possessive", "candidate.name|possessive"):
            return "{{ possessive }}"
        if text.startswith("candidate.") and re.fullmatch(r"candidate\.\w+", text):
            return "{{ " + text.removeprefix("candidate.") + " }}"
        if text.startswith("date") and "format_date" in text:
            date = front.get("date")
            if not isinstance(date, dt.date):
                raise BenchError(f"{template}: front matter 'date' is not a date")
            return f"{date.day} {date:%B %Y}"
        if text == "year":
            return str(YEAR)
        try:
            return str(_lookup(front, text))
        except KeyError:
            raise BenchError(f"{template}: bench.py cannot translate {{{{ {text} }}}} to "
                             "docxtpl; teach letter_blocks() about it") from None

    body = EXPR.sub(expr, body)
    left = re.search(r"\{%.*?%\}", body)
    if left:
        raise BenchError(f"{template}: bench.py cannot translate {left.group()} to docxtpl")

    blocks: list[tuple[str, str]] = []
    for chunk in re.split(r"\n\s*\n", body):
        lines = [ln.strip() for ln in chunk.strip().splitlines() if ln.strip()]
        if lines and re.fullmatch(r"\{\.[\w-]+\}", lines[0]):
            lines = lines[1:]  # a class line such as {.date}: no fidelity needed
        if not lines:
            continue
        if lines == [SIGNATORIES_BLOCK]:
            blocks += [("Normal", "{%p for s in signatories %}"),
                       ("Normal", "{{ loop.index }}. {{ s.name }}"),
                       ("Normal", "{%p endfor %}")]
        elif all(re.match(r"\d+\.\s", ln) for ln in lines):
            blocks += [("List Number", _inline(re.sub(r"^\d+\.\s+", "", ln))) for ln in lines]
        elif lines[0].startswith("## "):
            blocks.append(("Heading 2", _inline(" ".join(lines)[3:])))
        elif lines[0].startswith("# "):
            blocks.append(("Heading 1", _inline(" ".join(lines)[2:])))
        else:
            blocks.append(("Normal", _inline(" ".join(lines))))
    return blocks


def _inline(text: str) -> str:
    """Markdown inline markup to plain text: links keep their text, emphasis its words."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|\*)(\S(?:.*?\S)?)\1", r"\2", text)


def build_docx_template(template: Path, target: Path) -> int:
    """Write the docxtpl template for the stack; the number of paragraphs."""
    from docx import Document

    document = Document()
    blocks = letter_blocks(template)
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    document.save(str(target))
    return len(blocks)


def docxtpl_worker(template: str, candidates: str, signatories: str, out_dir: str) -> int:
    """The docxtpl side, run in its own process: one DOCX per candidate of YEAR."""
    from docxtpl import DocxTemplate

    def rows(path: str) -> list[dict[str, str]]:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [r for r in csv.DictReader(fh) if r.get("year", "").strip() == str(YEAR)]

    sigs = [{"name": r["name"]} for r in rows(signatories)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for row in rows(candidates):
        doc = DocxTemplate(template)
        doc.render({**row, "possessive": possessive(row["name"]), "signatories": sigs},
                   autoescape=True)
        doc.save(str(out / f"{slug(row['short_name'])}.docx"))
        count += 1
    print(f"docxtpl wrote {count} DOCX files in {out}")
    return 0


def stages_worker(work: str, sample: str) -> int:
    """Time letterforge's stages on ``sample`` letters of the batch in ``work``, in this
    (fresh) process, through letterforge's API; print one JSON object.

    Each stage is timed per letter (wall and CPU time); one letter first, untimed, so
    that imports, fonts and parsed stylesheets are not counted per letter."""
    import inspect
    import statistics as st

    from letterforge.batch import BatchWriter
    from letterforge.config import Inputs, Options
    from letterforge.parse import parse
    from letterforge.plan import prepare
    from letterforge.writers import WRITERS

    root = Path(work)
    inputs = Inputs(candidates=root / "candidates.csv", signatories=root / "signatories.csv",
                    template=root / "templates" / "letter.md")
    t0 = time.perf_counter()
    if "check_letters" in inspect.signature(prepare).parameters:
        plan = prepare(inputs, Options(YEAR), check_letters=False)
    else:
        plan = prepare(inputs, Options(YEAR))
    prepare_s = time.perf_counter() - t0
    renderer = plan.renderer()
    job = renderer.job
    wanted = int(sample)
    candidates = list(plan.candidates)[:wanted + 1]
    times: dict[str, list[tuple[float, float]]] = {}
    parse_params = inspect.signature(parse).parameters

    def timed(stage: str, first: bool, fn: Any, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(*args)
        if not first:
            times.setdefault(stage, []).append((time.perf_counter() - wall,
                                                time.process_time() - cpu))
        return result

    scratch = tempfile.TemporaryDirectory(prefix="stages-", dir=root)
    with scratch, BatchWriter(Path(scratch.name) / str(YEAR)) as writer:
        for i, cand in enumerate(candidates):
            first = i == 0
            letter = timed("merge", first, renderer.merger.merge, cand)
            extra = [job.template, job.email_template][:max(0, len(parse_params) - 1)]
            doc = timed("parse", first, parse, letter, *extra)
            rendered: dict[str, bytes] = {}

            def produce(fmt: str, doc: Any = doc, rendered: dict[str, bytes] = rendered,
                        first: bool = first) -> bytes:
                if fmt not in rendered:
                    w = WRITERS[fmt]
                    needs = w.requires(doc) if hasattr(w, "requires") else w.needs
                    needed = {n: produce(n) for n in needs}
                    rendered[fmt] = timed(f"writer {fmt}", first, w.render, doc, job.assets,
                                          needed)
                return rendered[fmt]

            files = {WRITERS[fmt].path(cand.slug): produce(fmt) for fmt in job.formats}
            wall, cpu = time.perf_counter(), time.process_time()
            for rel, data in files.items():
                writer.write(rel, data)
            if not first:
                times.setdefault("write", []).append((time.perf_counter() - wall,
                                                      time.process_time() - cpu))
    print(json.dumps({
        "letters": len(candidates) - 1,
        "prepare_s": round(prepare_s, 3),
        "formats": list(job.formats),
        "stages": {stage: {"wall_ms": round(st.median(w for w, _ in v) * 1000, 1),
                           "cpu_ms": round(st.median(c for _, c in v) * 1000, 1),
                           "wall_ms_min": round(min(w for w, _ in v) * 1000, 1),
                           "wall_ms_max": round(max(w for w, _ in v) * 1000, 1)}
                   for stage, v in times.items()},
    }))
    return 0


# --------------------------------------------------------------------------- the sides


@dataclass
class Tools:
    python: Path
    letterforge: Path
    soffice: str
    profile_url: str
    render_options: set[str]  # the optional render options this letterforge has
    jobs: int
    lf_args: list[str]


@dataclass
class Row:
    side: str
    letters: int
    walls: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)

    def add(self, run: Run) -> None:
        self.walls.append(run.wall)
        self.rss.append(run.peak_rss)
        self.pss.append(run.peak_pss)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def spread(self) -> float:
        return max(self.walls) - min(self.walls)

    @property
    def peak_rss(self) -> int:
        return max(self.rss)

    @property
    def peak_pss(self) -> int:
        return max(self.pss)

    @property
    def rate(self) -> float | None:
        return self.letters / self.wall if self.letters and self.wall > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "letters": self.letters,
            "wall_s": round(self.wall, 3),
            "wall_min_s": round(min(self.walls), 3),
            "wall_max_s": round(max(self.walls), 3),
            "letters_per_s": round(self.rate, 3) if self.rate is not None else None,
            "peak_rss_mb": round(self.peak_rss / MB, 1),
            "peak_pss_mb": round(self.peak_pss / MB, 1),
            "runs_wall_s": [round(w, 3) for w in self.walls],
        }


def detect_render_options(letterforge: Path) -> set[str]:
    done = subprocess.run([str(letterforge), "render", "--help"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"})
    if done.returncode != 0:
        raise BenchError(f"{letterforge} render --help failed:\n{done.stderr.strip()}")
    return {opt for opt in ("--force", "--jobs")
            if re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", done.stdout)}


def render_cmd(tools: Tools, work: Path, out: Path, *, force: bool,
               extra: Sequence[str] = ()) -> list[str]:
    cmd = [str(tools.letterforge), "render", "--year", str(YEAR), "--out", str(out),
           "--candidates", str(work / "candidates.csv"),
           "--signatories", str(work / "signatories.csv"),
           "--template", str(work / "templates" / "letter.md")]
    given = set(tools.lf_args)
    # letterforge makes its full batch (DOCX + PDF + e-mail) against the stack's DOCX + PDF
    if force and "--force" in tools.render_options and "--force" not in given:
        cmd.append("--force")
    if "--jobs" in tools.render_options and not given & {"--jobs", "-j"} \
            and not any(a.startswith("--jobs=") for a in given):
        cmd += ["--jobs", str(tools.jobs)]
    return cmd + list(extra) + tools.lf_args


def count(folder: Path, ext: str) -> int:
    return len(list(folder.glob(f"*.{ext}"))) if folder.is_dir() else 0


def expect(what: str, found: int, wanted: int) -> None:
    if found != wanted:
        raise BenchError(f"{what}: {found} files, expected {wanted}")


def run_letterforge(tools: Tools, work: Path, n: int) -> Run:
    out = work / "lf-out"
    shutil.rmtree(out, ignore_errors=True)
    run = measure(f"letterforge render {n}", render_cmd(tools, work, out, force=True),
                  work / "logs").check()
    batch = out / str(YEAR)
    expect("letterforge PDFs", count(batch / "pdf", "pdf"), n)
    expect("letterforge DOCX", count(batch / "docx", "docx"), n)
    if not any(a.startswith(("--format", "-f")) for a in tools.lf_args):
        expect("letterforge e-mails", count(batch / "email", "eml"), n)
    return run


def run_stack(tools: Tools, work: Path, docx_template: Path, n: int) -> tuple[Run, Run]:
    stack = work / "stack"
    shutil.rmtree(stack, ignore_errors=True)
    docx_dir, pdf_dir = stack / "docx", stack / "pdf"
    fill = measure(f"docxtpl {n}", [str(tools.python), str(Path(__file__).resolve()),
                                    WORKER_FLAG, str(docx_template),
                                    str(work / "candidates.csv"),
                                    str(work / "signatories.csv"), str(docx_dir)],
                   work / "logs").check()
    expect("docxtpl DOCX", count(docx_dir, "docx"), n)
    files = sorted(str(p) for p in docx_dir.glob("*.docx"))
    pdf_dir.mkdir(parents=True)
    # One soffice call per SOFFICE_CHUNK files: LibreOffice 7.4 given 1000 files in one
    # call stopped after 247 and exited 0 here, so a user of this stack must split.
    runs = []
    for i in range(0, len(files), SOFFICE_CHUNK):
        chunk = files[i:i + SOFFICE_CHUNK]
        runs.append(measure(f"soffice {n} part {i // SOFFICE_CHUNK + 1}",
                            [tools.soffice, "--headless",
                             f"-env:UserInstallation={tools.profile_url}",
                             "--convert-to", "pdf", "--outdir", str(pdf_dir), *chunk],
                            work / "logs").check())
    convert = Run(f"soffice {n}", runs[0].cmd[:6] + ["..."], sum(r.wall for r in runs),
                  max(r.peak_rss for r in runs), max(r.peak_pss for r in runs), 0,
                  "".join(r.stdout for r in runs), "".join(r.stderr for r in runs))
    expect("LibreOffice PDFs", count(pdf_dir, "pdf"), n)
    return fill, convert


@dataclass
class SizeResult:
    letters: int
    rows: list[Row]
    ratio: float  # letterforge wall / stack wall (medians)
    stages: dict[str, Any] | None = None  # stages_worker's JSON


def run_stages(tools: Tools, work: Path, sample: int) -> dict[str, Any]:
    """letterforge's per-stage times on ``sample`` letters of this batch (a child process)."""
    run = measure(f"stages {work.name}", [str(tools.python), str(Path(__file__).resolve()),
                                          STAGES_FLAG, str(work), str(sample)],
                  work / "logs").check()
    try:
        result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise BenchError(f"the stage breakdown printed no result: {run.stdout[-500:]}"
                         ) from exc
    return result


def bench_size(tools: Tools, tmp: Path, docx_template: Path, n: int, repeat: int,
               rerun: bool, stages: int) -> SizeResult:
    work = tmp / f"n{n}"
    work.mkdir()
    shutil.copytree(ROOT / "templates", work / "templates")
    shutil.copy2(ROOT / "signatories.csv", work / "signatories.csv")
    shorts = write_candidates(work / "candidates.csv", n)

    lf, fill, convert = Row("letterforge", n), Row("stack: docxtpl", n), Row("stack: soffice", n)
    total = Row("stack total (docxtpl + soffice)", n)
    for rep in range(repeat):
        order = ("lf", "stack") if rep % 2 == 0 else ("stack", "lf")
        for side in order:
            log(f"[{n} letters] run {rep + 1}/{repeat}: {side}")
            if side == "lf":
                lf.add(run_letterforge(tools, work, n))
            else:
                a, b = run_stack(tools, work, docx_template, n)
                fill.add(a)
                convert.add(b)
                total.walls.append(a.wall + b.wall)
                total.rss.append(max(a.peak_rss, b.peak_rss))
                total.pss.append(max(a.peak_pss, b.peak_pss))
    rows = [lf, fill, convert, total]

    if rerun:
        # each `repeat` times, in turn; timed without the memory sampler (see measure)
        log(f"[{n} letters] letterforge re-run, --help, --only ({repeat} each)")
        again = Row("letterforge re-run (nothing changed)", n)
        helped = Row("letterforge --help", 0)
        only = Row(f'letterforge --only "{shorts[0]}" (fresh out dir)', 1)
        only_out = work / "lf-only"
        for rep in range(repeat):
            again.add(measure(f"letterforge rerun {n} {rep + 1}",
                              render_cmd(tools, work, work / "lf-out", force=False),
                              work / "logs", sample=False).check())
            batch = work / "lf-out" / str(YEAR)
            expect("letterforge PDFs after the re-run", count(batch / "pdf", "pdf"), n)
            helped.add(measure(f"letterforge help {rep + 1}", [str(tools.letterforge), "--help"],
                               work / "logs", sample=False).check())
            shutil.rmtree(only_out, ignore_errors=True)
            only.add(measure(f"letterforge only {n} {rep + 1}",
                             render_cmd(tools, work, only_out, force=True,
                                        extra=["--only", shorts[0]]),
                             work / "logs", sample=False).check())
            expect("letterforge --only PDFs", count(only_out / str(YEAR) / "pdf", "pdf"), 1)
        rows += [again, helped, only]
    breakdown = None
    if stages:
        log(f"[{n} letters] per-stage breakdown on {min(stages, n - 1)} letters")
        breakdown = run_stages(tools, work, stages) if n > 1 else None
    return SizeResult(n, rows, lf.wall / total.wall, breakdown)


# --------------------------------------------------------------------------- reporting


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(tools: Tools) -> dict[str, str]:
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        nproc = os.cpu_count() or 0
    return {
        "nproc": str(nproc),
        "cpu": cpu_model(),
        "memory": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "python": f"{platform.python_version()} ({tools.python})",
        "letterforge": capture([str(tools.letterforge), "--version"]),
        "soffice": capture([tools.soffice, "--headless",
                            f"-env:UserInstallation={tools.profile_url}", "--version"]),
    }


def stage_lines(stages: dict[str, Any] | None) -> list[str]:
    """The per-stage breakdown as lines of text: median ms per letter, wall and CPU."""
    if not stages:
        return []
    parts = stages["stages"]
    total = sum(v["wall_ms"] for v in parts.values()) or 1.0
    lines = [f"  per letter, one process, median of {stages['letters']} letters "
             f"(prepare {stages['prepare_s']:.2f} s once):"]
    for name, v in parts.items():
        lines.append(f"    {name:12} {v['wall_ms']:8.1f} ms wall {v['cpu_ms']:8.1f} ms CPU "
                     f"({v['wall_ms_min']:.1f}-{v['wall_ms_max']:.1f})  "
                     f"{100 * v['wall_ms'] / total:4.0f} %")
    lines.append(f"    {'sum':12} {total:8.1f} ms wall")
    return lines


def table(results: Sequence[SizeResult]) -> str:
    head = ["side", "letters", "wall s", "min-max s", "letters/s", "peak RSS MB",
            "peak PSS MB"]
    body: list[list[str] | str] = []  # a row of cells, or a line of text
    for res in results:
        if body:
            body.append("")
        for row in res.rows:
            rate = f"{row.rate:.2f}" if row.rate is not None else "-"
            spread = (f"{min(row.walls):.2f}-{max(row.walls):.2f}" if len(row.walls) > 1
                      else "-")
            body.append([row.side, str(row.letters), f"{row.wall:.2f}", spread, rate,
                         f"{row.peak_rss / MB:.0f}" if row.peak_rss else "-",
                         f"{row.peak_pss / MB:.0f}" if row.peak_pss else "-"])
        body.append(f"ratio letterforge wall / stack wall ({res.letters} letters): "
                    f"{res.ratio:.2f}")
        body.extend(stage_lines(res.stages))
    cells = [head, *(ln for ln in body if isinstance(ln, list))]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]

    def fmt(row: Sequence[str]) -> str:
        rest = (c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))
        return "  ".join([row[0].ljust(widths[0]), *rest])

    lines = [fmt(head), "  ".join("-" * w for w in widths)]
    lines += [ln if isinstance(ln, str) else fmt(ln) for ln in body]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("give one or more positive numbers, e.g. 200,1000")
    return sizes


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--letters", type=parse_sizes, default=[200, 1000],
                        metavar="N[,N...]", help="batch size(s) to run (default 200,1000)")
    parser.add_argument("--repeat", type=int, default=3, metavar="R",
                        help="runs per side, alternating which goes first; the table shows "
                             "the median wall time, its spread and the highest peak RSS "
                             "(default 3)")
    parser.add_argument("--stages", type=int, default=10, metavar="K",
                        help="time letterforge's stages on K letters of each size in one "
                             "process (default 10; 0: skip)")
    parser.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True,
                        help="also time a re-run with nothing changed, `letterforge --help` "
                             "and a cold --only render of one letter (default on)")
    parser.add_argument("--lf-args", default="", metavar='"ARGS"',
                        help="extra arguments for every `letterforge render`; write "
                             "--lf-args=\"--date 2013-11-06\" when they start with -")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help="--jobs for letterforge if it has that option (default nproc)")
    parser.add_argument("--letterforge", type=Path, default=None,
                        help="the letterforge executable (default: beside this python)")
    parser.add_argument("--soffice", default=None, help="the soffice executable")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (its path is printed)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def find_letterforge(given: Path | None) -> Path:
    candidates = [given] if given else [Path(sys.executable).parent / "letterforge",
                                        ROOT / ".venv" / "bin" / "letterforge"]
    for path in candidates:
        if path and path.is_file() and os.access(path, os.X_OK):
            return path
    raise BenchError(f"letterforge not found (tried {', '.join(map(str, candidates))}); "
                     "pass --letterforge")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [WORKER_FLAG]:
        return docxtpl_worker(*argv[1:5])
    if argv[:1] == [STAGES_FLAG]:
        return stages_worker(*argv[1:3])
    args = parse_args(argv)
    if importlib.util.find_spec("docxtpl") is None:
        log("error: bench.py needs docxtpl: .venv/bin/pip install 'docxtpl>=0.20'")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="letterforge-bench-"))
    try:
        soffice = args.soffice or shutil.which("soffice") or shutil.which("libreoffice")
        if not soffice:
            raise BenchError("soffice (LibreOffice) not found on PATH; pass --soffice")
        letterforge = find_letterforge(args.letterforge)
        nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        tools = Tools(python=Path(sys.executable), letterforge=letterforge, soffice=soffice,
                      profile_url=(tmp / "lo-profile").as_uri(),
                      render_options=detect_render_options(letterforge),
                      jobs=args.jobs or nproc, lf_args=shlex.split(args.lf_args))
        facts = machine_facts(tools)
        lf_options = ", ".join(sorted(tools.render_options)) or "none"
        if not args.json:
            for key, value in facts.items():
                print(f"{key + ':':13} {value}")
            print(f"{'render opts:':13} --force/--jobs supported: {lf_options}; "
                  f"--lf-args: {args.lf_args or '-'}")
            print(flush=True)

        docx_template = tmp / "stack-template.docx"
        paragraphs = build_docx_template(ROOT / "templates" / "letter.md", docx_template)
        log(f"docxtpl template: {paragraphs} paragraphs from templates/letter.md")
        # LibreOffice creates its user profile on first start; do that once, untimed.
        log("creating the LibreOffice profile (untimed warm-up conversion)")
        warm_dir = tmp / "warm-up"
        warm = measure("soffice warm-up", [soffice, "--headless",
                                           f"-env:UserInstallation={tools.profile_url}",
                                           "--convert-to", "pdf", "--outdir", str(warm_dir),
                                           str(docx_template)], tmp / "logs").check()
        log(f"  LibreOffice first start with a new profile: {warm.wall:.2f} s")

        results = [bench_size(tools, tmp, docx_template, n, args.repeat, args.rerun,
                              args.stages) for n in args.letters]
        if args.json:
            print(json.dumps({
                "machine": facts,
                "letterforge_render_options": sorted(tools.render_options),
                "lf_args": tools.lf_args,
                "repeat": args.repeat,
                "soffice_profile_creation_s": round(warm.wall, 3),
                "results": [{"letters": r.letters,
                             "ratio_letterforge_over_stack": round(r.ratio, 3),
                             "rows": [row.as_dict() for row in r.rows],
                             "stages": r.stages} for r in results],
            }, indent=2))
        else:
            print(table(results))
            load = max((cpu / wall for cpu, wall in SAMPLER_LOAD if wall > 0), default=0.0)
            print(f"\nwall: median of {args.repeat} run(s). Peak RSS: the sum over every "
                  "process of the tree of its own peak RSS (the kernel's VmHWM, read every "
                  f"{SAMPLE_INTERVAL * 1000:.0f} ms; an upper bound: summed RSS counts shared "
                  "pages once per process). Peak PSS (shared pages split): highest sum over "
                  f"the tree, sampled every {SAMPLE_INTERVAL * 1000:.0f} ms for 0.5 s, then "
                  f"every {PSS_INTERVAL:.0f} s. The memory sampler used at "
                  f"most {100 * load:.1f} % of one CPU during a run.\n"
                  f"LibreOffice profile created before timing ({warm.wall:.2f} s).")
        return 0
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

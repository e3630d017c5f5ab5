"""What each speed override of the PDF engine saves, measured side by side in one process.

For each override: letters are rendered alternately with every override on and with
that one suspended (``engine.suspended``), so that the machine's changing speed hits
both sides alike; the median CPU time per letter of each side, and the share the
override saves. Also checks that both sides give the same bytes.

    .venv/bin/python benchmarks/engine_ab.py                 # the sample, 20 letters a side
    .venv/bin/python benchmarks/engine_ab.py --letters 40 examples/full-letter
    .venv/bin/python benchmarks/engine_ab.py --only lines,styles
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", nargs="?", default=str(ROOT),
                        help="a campaign folder (default: the sample)")
    parser.add_argument("--letters", type=int, default=20, help="letters per side")
    parser.add_argument("--only", default="", help="overrides to measure (comma-separated)")
    parser.add_argument("--year", type=int, default=2013)
    args = parser.parse_args(argv)

    from letterforge.config import Inputs, Options
    from letterforge.plan import prepare
    from letterforge.writers import WRITERS
    from letterforge.writers.pdf import engine

    os.chdir(args.campaign)
    plan = prepare(Inputs(), Options(args.year), check_letters=False)
    renderer = plan.renderer()
    docs = [renderer.document(c) for c in plan.candidates]
    assets = renderer.job.variants[renderer.job.variant_key(docs[0].candidate)].assets
    installed = engine.install()
    names = [n for n in engine.SPEED if n in installed and n != "startup"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]

    def render(i: int) -> tuple[float, bytes]:
        doc = docs[i % len(docs)]
        cpu = time.process_time()
        data = WRITERS["pdf"].render(doc, assets, {})
        return time.process_time() - cpu, data

    render(0)  # fonts, stylesheets and imports: not counted
    print(f"{'override':12s} {'all on':>9s} {'it off':>9s} {'saves':>7s}  same bytes")
    for name in names:
        on: list[float] = []
        off: list[float] = []
        same = True
        data_on = b""
        for i in range(2 * args.letters):
            if i % 2:
                with engine.suspended([name]):
                    took, data_off = render(i // 2)
                off.append(took)
                same = same and data_off == data_on
            else:
                took, data_on = render(i // 2)
                on.append(took)
        a, b = statistics.median(on), statistics.median(off)
        print(f"{name:12s} {a * 1000:7.1f}ms {b * 1000:7.1f}ms {100 * (b - a) / b:6.1f}%  {same}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

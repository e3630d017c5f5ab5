"""``letterforge combine``: the parts of a sharded render, joined."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonOpt, QuietOpt, emit, err, handle_errors, open_campaign, plural

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("combine")
@handle_errors
def combine(
    parts: Annotated[list[Path], typer.Argument(
        metavar="PART", show_default=False,
        help="The batch folders of the parts (each OUT/YEAR of a --shard render).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FOLDER",
        help="Output root; the combined batch goes to FOLDER/YEAR [default: from "
        "letterforge.toml, else out].")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace letters of the combined batch that were edited by hand.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Combine the parts of a sharded render into one batch and one manifest.

    Refuses a missing part, a part given twice and parts of different renders. The
    combined manifest keeps the inputs and options the parts were rendered with.
    """
    from ..combine import combine as run

    target, manifest = run(parts, open_campaign().out_root(out), force=force)
    emit({"ok": True, "batch": str(target), "parts": len(parts),
           "letters": len(manifest.letters)})
    err(f"Combined {plural(len(parts), 'part')}: {plural(len(manifest.letters), 'letter')} "
         f"in {target}/")

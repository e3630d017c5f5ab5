"""The commands, as a table: each name with its module and its one-line summary.

A command's module is imported only when that command runs (pip's ``commands_dict``
with click's public ``get_command``/``list_commands``): ``letterforge --help`` lists every
summary without importing any command. Each module holds one thin command: it parses
its options, calls its stage, prints the result; what a command decides belongs to its
stage. :mod:`._common` is how every command prints and ends; :mod:`._table` the one
table and progress style.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandSpec(NamedTuple):
    module: str  # letterforge.commands.<module>
    summary: str  # what `letterforge --help` says of it


#: name -> where it lives and what it does, in the order `--help` lists them (the order
#: of a campaign year).
COMMANDS: dict[str, CommandSpec] = {
    "new-year": CommandSpec("new_year", "Prepare YEAR's campaign from last year's."),
    "diff": CommandSpec("diff", "Show what changed from one year to the next."),
    "list": CommandSpec("list", "List the candidates of YEAR that render would write."),
    "check": CommandSpec("check", "Check the data files and the template for YEAR; write "
                                  "nothing."),
    "preview": CommandSpec("preview", "Show one letter in the browser while you edit the "
                                      "template."),
    "render": CommandSpec("render", "Render the letters of YEAR: DOCX, PDF and e-mail per "
                                    "candidate."),
    "combine": CommandSpec("combine", "Combine the parts of a sharded render into one "
                                      "batch."),
    "verify": CommandSpec("verify", "Prove a batch is what the data and templates produce."),
    "proof": CommandSpec("proof", "Write a proof sheet of a rendered batch for sign-off."),
    "send": CommandSpec("send", "Send the rendered e-mails of YEAR over SMTP, each exactly "
                                "once."),
    "replies": CommandSpec("replies", "Read the replies to YEAR's letters from the "
                                      "campaign's mailbox."),
    "status": CommandSpec("status", "Show what became of each letter of YEAR: sent, "
                                    "bounced, auto-replies, replied."),
}

"""Send a rendered batch over SMTP, each message exactly once.

The send ledger (``send-ledger.jsonl`` in the batch folder) is append-only; every line
is written and flushed to disk before the step it records goes on:

``sending``  written just before the message's DATA is handed to the server;
``sent``     the server accepted it for every recipient (its reply is kept);
``partial``  the server accepted it for some recipients and refused others (each
             refused address is kept with the server's reply);
``failed``   the server refused it (the reason is kept); a rerun tries it again;
``marked-sent``  a person said it arrived (``--mark-sent``).

A message whose last line is ``sending`` was interrupted at the one moment where no
one can know whether the server took it: it is reported as *unknown* and never sent
again on its own; check the mailbox, then ``--mark-sent`` or ``--resend`` it. A
*partial* letter is never sent again on its own either: ``--resend`` sends it to the
refused recipients only, never again to those who got it. A letter whose .eml changed
after it was sent is reported, not re-sent (``--resend`` to send the new version); one
whose DOCX or PDF was edited after rendering is *edited* and not sent (its e-mail
carries the rendered PDF, not the edits). A ledger with a damaged line stops the run
before anything is sent: only a last line cut short by a killed run is passed over.
A lock on the ledger keeps two runs from sending the same batch.

The .eml files keep their stable ``Date``; the message handed to the server is dated
the moment it is sent (the ledger records that date) and carries no ``Bcc`` header.
"""

"""After sending: the candidates' replies, bounces and auto-replies, read from the
campaign's mailbox (read only), matched to their letters and kept under the batch.

:mod:`.mailbox` reads the mailbox over IMAP; :mod:`.classify` says what a message is and
which letter it answers; :mod:`.store` keeps each message once under
``OUT/YEAR/replies/``; :mod:`.run` is one ``replies`` run; :mod:`.status` one row per
candidate (sent, bounced, auto-replies, replied) for ``status``.
"""

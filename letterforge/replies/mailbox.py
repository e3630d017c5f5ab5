"""The campaign's mailbox over IMAP, read only (imapclient).

Every folder is selected read-only (EXAMINE) and every message fetched with
``BODY.PEEK[]``: nothing is marked read, moved or deleted. TLS by default (``tls``:
IMAPS, port 993; ``starttls``: port 143), the certificate verified against the system's
authorities (``SSL_CERT_FILE`` names another bundle); ``none`` only to this machine.
The password: the environment (``LETTERFORGE_IMAP_PASSWORD``), ``--password-command``,
or a prompt when a person is at the terminal; never a file or a log.
"""

from __future__ import annotations

import getpass
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import LetterforgeError

DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
#: UIDs fetched per request, and at most this many bytes of messages at once
CHUNK = 50
GROUP_BYTES = 32 * 1024 * 1024


class MailboxError(LetterforgeError):
    """The mailbox cannot be read: unreachable, refused, untrusted, no such folder."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str
    user: str
    password: str
    folders: tuple[str, ...]
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def settings(campaign: Any, *, host: str | None, port: int | None, security: str | None,
             user: str | None, folders: list[str] | None, password_env: str,
             password_command: str | None, timeout: float) -> ImapConfig:
    """Each option, else the campaign file's ``[imap]``, else the defaults (INBOX, TLS)."""
    from ..errors import UsageError
    from ..send.smtp import password_from

    security = security or campaign.security or "tls"
    if security not in DEFAULT_PORTS:
        raise UsageError(f"--security: {security!r} is not tls, starttls or none")
    check_options(port, timeout)
    host = host or campaign.host
    if not host:
        raise UsageError("no IMAP server: give --host, or host under [imap] in "
                         "letterforge.toml")
    user = user or campaign.user
    if not user:
        raise UsageError("no IMAP user: give --user, or user under [imap] in "
                         "letterforge.toml")
    password = password_from(password_env, password_command)
    if password is None and sys.stdin.isatty():
        password = getpass.getpass(f"IMAP password for {user} at {host}: ")
    if password is None:
        raise MailboxError(f"no password for {user}: set {password_env} or give "
                           "--password-command")
    chosen = tuple(folders or campaign.folders or ("INBOX",))
    return ImapConfig(host, port if port is not None else campaign.port or
                      DEFAULT_PORTS[security], security, user, password, chosen, timeout)


def check_options(port: int | None, timeout: float) -> None:
    """The options that make no sense whatever the mailbox: a usage error (exit 2)."""
    from ..errors import UsageError

    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port: {port} is not a port number (1 to 65535)")
    if not timeout > 0:
        raise UsageError(f"--timeout: {timeout:g} is not a number of seconds above 0")


class Mailbox:
    """A logged-in, read-only connection; ``with Mailbox(config) as box: ...``."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.client: Any = None

    def __enter__(self) -> Mailbox:
        from imapclient import IMAPClient
        from imapclient.exceptions import LoginError

        from ..send.smtp import is_loopback

        c = self.config
        if c.security == "none" and not is_loopback(c.host):
            raise MailboxError(f"refusing to send the password for {c.user} unencrypted "
                               f"to {c.where}: use --security tls or starttls")
        context = ssl.create_default_context()
        try:
            self.client = IMAPClient(c.host, port=c.port, ssl=c.security == "tls",
                                     ssl_context=context, timeout=c.timeout)
            if c.security == "starttls":
                self.client.starttls(context)
            if c.password.isascii() and c.user.isascii():
                self.client.login(c.user, c.password)
            else:  # LOGIN carries ASCII only; AUTHENTICATE PLAIN carries UTF-8
                self.client.plain_login(c.user, c.password)
        except UnicodeError:
            self._drop()
            raise MailboxError(f"{c.where}: the user name or the password has characters "
                               "the server's login cannot carry; nothing was read") from None
        except LoginError as exc:
            self._drop()
            raise MailboxError(f"{c.where}: the server refused the login of {c.user} "
                               f"({_text(exc)}); check the user and the password") from None
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise MailboxError(f"{c.where}: the server's certificate is not trusted "
                               f"({exc.verify_message}); nothing was read") from None
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            self._drop()
            raise MailboxError(f"cannot connect to {c.where}: {_text(exc)}; nothing was "
                               "read") from None
        except Exception as exc:  # imaplib's errors: the server answered wrongly
            self._drop()
            raise MailboxError(f"{c.where}: {_text(exc)}; nothing was read") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except Exception:  # noqa: BLE001 - going away anyway
                self._drop()

    def _drop(self) -> None:
        try:
            if self.client is not None:
                self.client.shutdown()
        except Exception:  # noqa: BLE001
            pass
        self.client = None

    def uidvalidity(self, folder: str) -> int:
        """Select ``folder`` read-only; its UIDVALIDITY."""
        try:
            found = self.client.select_folder(folder, readonly=True)
        except Exception as exc:
            raise MailboxError(f"{self.config.where}: cannot open the folder {folder!r} "
                               f"({_text(exc)}); the folders are: {self._folders()}"
                               ) from None
        return int(found[b"UIDVALIDITY"])

    def _folders(self) -> str:
        try:
            return ", ".join(name for _flags, _sep, name in self.client.list_folders())
        except Exception:  # noqa: BLE001
            return "(the server did not say)"

    def new_messages(self, above: int) -> Iterator[tuple[int, bytes]]:
        """(UID, bytes) of every message of the selected folder whose UID is above
        ``above``, oldest first, fetched without marking any read."""
        try:
            uids = sorted(u for u in self.client.search(["UID", f"{above + 1}:*"])
                          if u > above)
        except Exception as exc:
            raise MailboxError(f"{self.config.where}: the search failed ({_text(exc)})"
                               ) from None
        for chunk in self._groups(uids):
            try:
                fetched = self.client.fetch(chunk, ["BODY.PEEK[]"])
            except Exception as exc:
                raise MailboxError(
                    f"{self.config.where}: the connection failed while fetching "
                    f"({_text(exc)}); what was read so far is kept: run replies again"
                ) from None
            for uid in chunk:
                data = fetched.get(uid, {}).get(b"BODY[]")
                if isinstance(data, bytes):
                    yield uid, data

    def _groups(self, uids: list[int]) -> Iterator[list[int]]:
        """The UIDs in groups of at most CHUNK messages and GROUP_BYTES (their sizes
        asked first): a mailbox of large attachments is fetched a few at a time."""
        for start in range(0, len(uids), CHUNK):
            chunk = uids[start:start + CHUNK]
            try:
                sizes = self.client.fetch(chunk, ["RFC822.SIZE"])
            except Exception as exc:
                raise MailboxError(f"{self.config.where}: the connection failed "
                                   f"({_text(exc)}); run replies again") from None
            group: list[int] = []
            total = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0) or 0)
                if group and total + size > GROUP_BYTES:
                    yield group
                    group, total = [], 0
                group.append(uid)
                total += size
            if group:
                yield group


def _text(exc: BaseException) -> str:
    text = str(exc).strip()
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(exc).__name__

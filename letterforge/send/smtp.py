"""The SMTP side: the password (environment or a command, never a prompt), the
connection (TLS verified), and the bytes a message is handed to the server as."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shlex
import smtplib
import ssl
import subprocess
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from ..errors import SendError
from ..mailfiles import without_bcc


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


#: the port of each way of securing the connection, when none is given
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def settings(campaign: Any, *, host: str | None, port: int | None, security: str | None,
             user: str | None, timeout: float, password_env: str,
             password_command: str | None, really: bool) -> SmtpConfig | None:
    """The SMTP settings of a run: each option, else the campaign file's ``[smtp]``
    (``campaign``: its SmtpSettings), else the default (localhost, STARTTLS, the port
    of the security). None for a dry run, which connects to nothing; a real run gets the
    password now (from ``password_env`` or ``password_command``)."""
    from ..errors import UsageError

    security = security or campaign.security or "starttls"
    if security not in DEFAULT_PORTS:
        raise UsageError(f"--security: {security!r} is not starttls, tls or none")
    if not really:
        return None
    host = host or campaign.host or "localhost"
    port = port if port is not None else campaign.port
    user = user if user is not None else campaign.user
    password = password_from(password_env, password_command) if user else None
    if user and password is None:
        raise SendError(f"no password for {user}: set {password_env} or give "
                        "--password-command")
    return SmtpConfig(host, port if port is not None else DEFAULT_PORTS[security], security,
                      user, password, timeout)


def password_from(env_var: str, command: str | None) -> str | None:
    if command:
        try:
            result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                    timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SendError(f"--password-command could not run: {exc}") from exc
        if result.returncode != 0:
            raise SendError(f"--password-command failed (exit {result.returncode}): "
                            f"{result.stderr.strip()[:200]}")
        lines = result.stdout.splitlines()
        return lines[0] if lines else ""
    return os.environ.get(env_var)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (a password may go to it unencrypted)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(config: SmtpConfig) -> smtplib.SMTP:
    where = f"{config.host}:{config.port}"
    if config.user and config.security == "none" and not is_loopback(config.host):
        raise SendError(f"refusing to send the password for {config.user} unencrypted to "
                        f"{where}: use --security starttls or tls")
    try:
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        smtp.ehlo()
        if config.security == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise SendError(f"{where} does not offer STARTTLS: use --security tls, or "
                                "--security none for a server on this machine")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.user:
            smtp.login(config.user, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"{where}: authentication failed for {config.user} "
                        f"({exc.smtp_code} {text_of(exc.smtp_error)}); nothing was sent") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"{where}: the server does not support login: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot connect to {where}: {exc}; nothing was sent") from exc
    return smtp


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_DATE = re.compile(rb"^Date:.*(?:\r\n[ \t].*)*\r\n", re.I | re.M)


def wire_bytes(data: bytes, date: str | None = None) -> bytes:
    """The message as transmitted: the .eml without its Bcc header and, given ``date``,
    dated then instead of the .eml's stable date. Everything else, the Message-ID
    included, is the .eml's bytes."""
    head, sep, body = without_bcc(data).partition(b"\r\n\r\n")
    head += b"\r\n"
    if date is not None:
        line = b"Date: " + date.encode("ascii") + b"\r\n"
        head, found = _DATE.subn(lambda _: line, head, count=1)
        if not found:
            head = line + head
    return head.rstrip(b"\r\n") + sep + body


def sending_date() -> str:
    """The Date header of a message handed to the server now."""
    return format_datetime(dt.datetime.now(dt.UTC))

"""A real IMAP server for the tests: Dovecot (Debian: dovecot-imapd, which
``./setup.sh --test`` installs) on 127.0.0.1, IMAPS with a self-signed certificate, one
user ``campaign`` (password ``s3cret``) whose mail is a Maildir in a temporary folder."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "campaign", "s3cret"


@dataclass(frozen=True)
class Dovecot:
    port: int  # IMAPS
    plain_port: int  # IMAP (STARTTLS)
    cert: Path  # the certificate to trust (SSL_CERT_FILE)
    root: Path

    def client(self):  # type: ignore[no-untyped-def]
        import ssl

        from imapclient import IMAPClient

        context = ssl.create_default_context(cafile=str(self.cert))
        client = IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context)
        client.login(USER, PASSWORD)
        return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dovecot() -> Iterator[Dovecot]:
    """Dovecot running until the block ends. Its folder is a fresh one in the system's
    temporary folder, open to Dovecot's own users (pytest's are private to this one)."""
    exe = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists()
                                      else None)
    openssl = shutil.which("openssl")
    if exe is None or openssl is None:
        pytest.skip("Dovecot is not installed (Debian: dovecot-imapd; ./setup.sh --test "
                    "installs it)")
    root = Path(tempfile.mkdtemp(prefix="letterforge-dovecot-"))
    root.chmod(0o755)
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    key.chmod(0o644)  # read by Dovecot's own users
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    home = root / "home"
    home.mkdir()
    if os.getuid() == 0:  # Dovecot's own users, and mail as nobody
        login, internal = "dovenull", "dovecot"
        uid = gid = pwd.getpwnam("nobody").pw_uid
        os.chown(home, uid, gid)
    else:  # a rootless Dovecot: everything as this user
        login = internal = pwd.getpwuid(os.getuid()).pw_name
        uid, gid = os.getuid(), os.getgid()
    port, plain_port = _free_port(), _free_port()
    (root / "dovecot.conf").write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
disable_plaintext_auth = yes
first_valid_uid = 1
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    proc = subprocess.Popen([exe, "-F", "-c", str(root / "dovecot.conf")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log"
                                                                  ).exists() else ""
                    said = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"Dovecot did not start: {said}{log[-2000:]}")
                time.sleep(0.05)
        yield Dovecot(port, plain_port, cert, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)

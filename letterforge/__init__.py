"""letterforge: one master letter, one DOCX, PDF and e-mail per recipient."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("letterforge")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

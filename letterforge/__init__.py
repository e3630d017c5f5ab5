"""letterforge: one master letter, one DOCX, PDF and e-mail per recipient."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed package's metadata when first asked for:
    importlib.metadata costs 40 ms at every start, and ``letterforge --help`` or a
    command's usage error do not need it."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("letterforge")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        found = "0+unknown"
    globals()["__version__"] = found
    return found

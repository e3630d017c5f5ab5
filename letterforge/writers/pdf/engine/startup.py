"""The ``startup`` speed override: WeasyPrint imported faster (see the table in
``engine/__init__.py``). Nothing here outlives the import; the libraries loaded are the
ones ctypes would find.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def install(name: str) -> None:
    """Nothing to put in place after the import: :func:`import_weasyprint` is the override."""


def import_weasyprint() -> None:
    """Import WeasyPrint, finding its C libraries in the dynamic loader's cache first,
    and without the parts of fontTools a letter rarely needs.

    WeasyPrint tries several names per library (Windows and macOS ones too); for each
    name that is not a file, cffi asks ``ctypes.util.find_library``, which on Linux runs
    ``ldconfig -p`` and then, for a name ldconfig does not know, gcc and ld: about 20
    ms per miss, 0.3 s per process start. While WeasyPrint is imported here a name
    ldconfig does not know is taken as not found, unless ldconfig cannot be asked or
    LD_LIBRARY_PATH or LIBRARY_PATH is set (gcc and ld may look elsewhere then): the
    library loaded is the one the loader's cache names, as before. ``ldconfig -p`` runs
    once for the 23 names (3.5 ms each), not once per name (:func:`ldconfig_finder`).

    fontTools' subsetter and variable-font instancer are imported when WeasyPrint first
    uses them (:func:`_deferred_imports`), not with WeasyPrint."""
    import sys

    if "weasyprint" in sys.modules:
        return
    import ctypes.util
    import os

    with _deferred_imports(DEFERRED_MODULES):
        if (os.environ.get("LD_LIBRARY_PATH") or os.environ.get("LIBRARY_PATH")
                or sys.platform != "linux"):
            import weasyprint  # noqa: F401
            return
        ldconfig = ldconfig_finder()
        try:
            works = ldconfig is not None and ldconfig("c") is not None
        except Exception:
            works = False
        if not works:
            import weasyprint  # noqa: F401
            return
        assert ldconfig is not None
        original = ctypes.util.find_library
        ctypes.util.find_library = ldconfig
        try:
            import weasyprint  # noqa: F401
        finally:
            ctypes.util.find_library = original


def ldconfig_finder() -> Any:
    """``name -> soname or None``: what ``ctypes.util``'s ldconfig lookup
    (``_findSoname_ldconfig``, glibc) answers, with ``ldconfig -p`` run once for all the
    names asked (it runs once per name there). None where that lookup is not ctypes'
    way on this platform, or ldconfig cannot be run."""
    import ctypes.util
    import os
    import re
    import struct
    import subprocess

    if getattr(ctypes.util, "_findSoname_ldconfig", None) is None:
        return None
    # the same ABI names and pattern as ctypes.util._findSoname_ldconfig (CPython 3.11-3.13)
    machine = os.uname().machine + ("-32" if struct.calcsize("l") == 4 else "-64")
    abi_type = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit",
                "sparc64-64": "libc6,64bit", "s390x-64": "libc6,64bit",
                "ia64-64": "libc6,IA-64"}.get(machine, "libc6")
    try:
        listing = subprocess.run(["/sbin/ldconfig", "-p"], stdin=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout
    except OSError:
        return None

    def find(name: str) -> str | None:
        pattern = os.fsencode(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({abi_type}")
        found = re.search(pattern, listing)
        return os.fsdecode(found.group(1)) if found else None

    return find


#: Modules WeasyPrint imports with its PDF writer that a letter needs only for a font
#: HarfBuzz cannot subset, a variable font or a colour font: 0.2 s of every process
#: start (fontTools' OpenType table classes). Each name: the names WeasyPrint takes
#: from it with ``from ... import`` (stand-ins that import the module when called).
DEFERRED_MODULES: dict[str, tuple[str, ...]] = {
    "fontTools.subset": (),
    "fontTools.varLib.instancer": ("instantiateVariableFont",),
}


class _Deferred(types.ModuleType):
    """Stands for a module not imported yet: the first name looked up on it imports the
    module and is looked up there. Only in ``sys.modules`` while WeasyPrint is imported
    (:func:`_deferred_imports`); later imports get the module itself. Its special names
    (``__path__``, ``__file__``) are not looked up there: the import system asks for
    ``__path__`` at every ``from ... import`` of it, which would import the module."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(_import_deferred(self.__name__), name)


def _import_deferred(module: str) -> Any:
    import importlib
    import sys

    if isinstance(sys.modules.get(module), _Deferred):
        del sys.modules[module]
    return importlib.import_module(module)


def _stand_in(module: str, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_import_deferred(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported when first called."
    return call


@contextmanager
def _deferred_imports(modules: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """While WeasyPrint is imported, each of ``modules`` not imported yet is a
    :class:`_Deferred` stand-in: ``from fontTools import subset`` binds the stand-in
    (its first use imports fontTools.subset), ``from fontTools.varLib.instancer import
    instantiateVariableFont`` a function that imports the module when called."""
    import sys

    placed = []
    for module, names in modules.items():
        if module in sys.modules:
            continue
        stand_in = _Deferred(module)
        for name in names:
            setattr(stand_in, name, _stand_in(module, name))
        sys.modules[module] = stand_in
        placed.append(module)
    try:
        yield
    finally:
        for module in placed:
            if isinstance(sys.modules.get(module), _Deferred):
                del sys.modules[module]
            parent, _, child = module.rpartition(".")
            if isinstance(getattr(sys.modules.get(parent), child, None), _Deferred):
                delattr(sys.modules[parent], child)

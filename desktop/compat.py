"""A guard against a reference-counting bug in PySide6 6.12.0 on Python 3.11.

Measured here: every call of a PySide6 6.12.0 method that returns nothing (`setText`, `setHtml`,
`QTimer.start`, `processEvents`, …) takes one reference from `None` and never gives it back. On
Python 3.12+ that is harmless, because None is immortal there; on 3.11 None starts with about 5,000
references, so after a few thousand UI updates the interpreter aborts with "Fatal Python error:
none_dealloc: deallocating None". PySide6 6.11.3 does not have the bug.

The fix is a pin below 6.12 (see docs/desktop.md). Until every installation has it, the app makes
the affected singletons effectively immortal, as Python 3.12 does: it adds 2**40 references to
each, which no session can use up, and which cost nothing since these objects are never freed."""

from __future__ import annotations

import ctypes
import logging
import sys

import PySide6

log = logging.getLogger(__name__)

EXTRA_REFERENCES = 1 << 40
_guarded = False


def has_refcount_bug(pyside_version: str = PySide6.__version__) -> bool:
    major_minor = tuple(int(part) for part in pyside_version.split(".")[:2])
    return major_minor == (6, 12) and sys.version_info < (3, 12)


def guard_refcount_bug() -> bool:
    """Apply the guard when the running PySide6 needs it; True when it was applied (once)."""
    global _guarded
    if _guarded or not has_refcount_bug():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object (a Py_ssize_t).
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        refcount.value += EXTRA_REFERENCES
    _guarded = True
    log.info("PySide6 %s on Python 3.11: guarded None/True/False references", PySide6.__version__)
    return True

"""Keeps the app alive on Python 3.11 with PySide6 builds that assume immortal singletons.

PySide6 6.12.0 (a stable-ABI build) returns ``None`` from every void method, and ``True`` from
``Signal.emit()``, without taking a reference: harmless on Python 3.12+, where those objects are immortal, but on
3.11 each call takes one reference away until the interpreter aborts ("Fatal Python error: none_dealloc") —
after some thousands of paint calls or progress signals. A probe at import measures whether this Qt build does
that; if so, ``None``, ``True`` and ``False`` get the headroom 3.12 gives them (2**40 references), which no
session can exhaust. Nothing changes on Python 3.12+ or on a fixed PySide6.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

HEADROOM = 1 << 40


class _Probe(QObject):
    ping = Signal()


def _loses_references(rounds: int = 64) -> bool:
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(rounds):
        probe.setObjectName("probe")  # a void method: returns None
        probe.ping.emit()  # returns True
    lost = max(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
    return lost >= rounds // 2


def _add_headroom() -> None:
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += HEADROOM


NEEDS_HEADROOM = sys.version_info < (3, 12) and _loses_references()
if NEEDS_HEADROOM:
    _add_headroom()

"""How much memory the system can give us, so huge results are refused up front instead of crashing.

On Linux, large numpy allocations succeed lazily and the process is killed later when the pages are touched;
checking first is the only way to report "too large" and keep a batch going.
"""

from __future__ import annotations

from pathlib import Path

from photogan.core.errors import InsufficientMemoryError

_MEMINFO = Path("/proc/meminfo")


def available_memory() -> int | None:
    """Bytes of memory available without swapping (Linux ``MemAvailable``), or None where unknown."""
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def require_memory(needed: int, what: str, available: int | None = None) -> None:
    """Raises :class:`InsufficientMemoryError` if ``needed`` bytes exceed the available memory.

    Args:
        needed: Bytes the operation will allocate.
        what: Description for the message, e.g. "a 1200 MP result".
        available: Available bytes (measured when omitted); nothing is checked where this is unknown.
    """
    available = available_memory() if available is None else available
    if available is not None and needed > available:
        raise InsufficientMemoryError(
            f"{what} needs about {needed / 2**30:.1f} GiB of memory but only {available / 2**30:.1f} GiB is "
            "available; use a smaller scale, or crop or split the photo"
        )

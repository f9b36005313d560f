"""How much memory the system can give us, so huge results are refused up front instead of crashing.

On Linux, large numpy allocations succeed lazily and the process is killed later when the pages are touched;
checking first is the only way to report "too large" and keep a batch going.
"""

from __future__ import annotations

from pathlib import Path

from photogan.core.errors import InsufficientMemoryError

_MEMINFO = Path("/proc/meminfo")
_CGROUPS = Path("/sys/fs/cgroup")
_UNLIMITED = 2**62  # a cgroup v1 "no limit" is 2**63 rounded down to a page


def _meminfo() -> int | None:
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _inactive_file(stat: Path, key: str) -> int:
    """Page cache the kernel can drop before it kills anyone (counted in a cgroup's usage)."""
    try:
        for line in stat.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_headroom(root: Path = _CGROUPS) -> int | None:
    """Bytes the memory cgroup of this process (a container, a systemd or Flatpak limit) still lets it use."""
    headroom: list[int] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    own = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), "/")
    folder = root / own.lstrip("/")
    while True:  # cgroup v2: this cgroup and every one above it
        limit, used = _read_int(folder / "memory.max"), _read_int(folder / "memory.current")
        if limit is not None and used is not None:
            headroom.append(limit - used + _inactive_file(folder / "memory.stat", "inactive_file"))
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    v1 = root / "memory"
    limit, used = _read_int(v1 / "memory.limit_in_bytes"), _read_int(v1 / "memory.usage_in_bytes")
    if limit is not None and used is not None and limit < _UNLIMITED:
        headroom.append(limit - used + _inactive_file(v1 / "memory.stat", "total_inactive_file"))
    return max(0, min(headroom)) if headroom else None


def _address_space_headroom() -> int | None:
    """Bytes of address space left under ``ulimit -v`` (RLIMIT_AS), where one is set."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(0, soft - int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate without swapping or being killed: the least of the
    system's ``MemAvailable``, its memory cgroup's headroom and its address-space limit; None where none is
    known (not Linux)."""
    known = [v for v in (_meminfo(), _cgroup_headroom(), _address_space_headroom()) if v is not None]
    return min(known) if known else None


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

"""IPTC-IIM in its two containers: Photoshop image resources (JPEG APP13, TIFF tag 34377) and TIFF tag 33723."""

from __future__ import annotations

import struct

IPTC_RESOURCE = 0x0404
TIFF_IPTC_TAG = 33723


def iptc_record(resources: bytes) -> bytes | None:
    """The IPTC-IIM record stored in Photoshop image resources, or None if there is none (or they are corrupt)."""
    pos = 0
    while pos + 12 <= len(resources) and resources[pos : pos + 4] == b"8BIM":
        (resource_id,) = struct.unpack_from(">H", resources, pos + 4)
        name_length = resources[pos + 6]
        pos += 6 + ((name_length + 2) & ~1)  # Pascal name, padded to an even length
        if pos + 4 > len(resources):
            return None
        (size,) = struct.unpack_from(">I", resources, pos)
        pos += 4
        if resource_id == IPTC_RESOURCE:
            return resources[pos : pos + size] or None
        pos += size + (size & 1)
    return None


def resources_from_record(record: bytes) -> bytes:
    """Photoshop image resources holding only ``record`` (for files that carry bare IPTC, like some TIFFs)."""
    return b"8BIM" + struct.pack(">HHI", IPTC_RESOURCE, 0, len(record)) + record + b"\x00" * (len(record) & 1)

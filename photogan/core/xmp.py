"""photogan's processing history in a photo's XMP: one ``photogan:History`` sequence, one entry per time photogan
wrote the photo (when, which version, which models, what size), added to whatever XMP the photo already has.

The history is its own ``rdf:Description`` in photogan's namespace, so the photo's other XMP (Lightroom's
develop settings, Photoshop's history, IPTC Core) is left byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import re
from html import escape, unescape  # not xml.sax.saxutils: it imports urllib.request, 35 ms of start-up

#: photogan's XMP namespace.
NAMESPACE = "https://photogan.github.io/ns/1.0/"
_SEQ_END = re.compile(rb"(<photogan:History>\s*<rdf:Seq>.*?)(</rdf:Seq>)", re.DOTALL)
_RDF_END = re.compile(rb"</rdf:RDF>")
_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    "</rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)


def _entry(text: str) -> bytes:
    return f"<rdf:li>{escape(text, quote=False)}</rdf:li>".encode()


def with_history(xmp: bytes | None, entry: str) -> bytes:
    """``xmp`` (or a new packet) with ``entry`` appended to photogan's processing history."""
    packet = xmp if xmp and _RDF_END.search(xmp) else _PACKET.encode()
    if _SEQ_END.search(packet):  # a photo photogan wrote before: one more entry
        return _SEQ_END.sub(lambda m: m.group(1) + _entry(entry) + m.group(2), packet, count=1)
    description = (
        (f'<rdf:Description rdf:about="" xmlns:photogan="{NAMESPACE}"><photogan:History><rdf:Seq>').encode()
        + _entry(entry)
        + b"</rdf:Seq></photogan:History></rdf:Description>\n"
    )
    where = list(_RDF_END.finditer(packet))[-1].start()
    return packet[:where] + description + packet[where:]


def history(xmp: bytes | None) -> list[str]:
    """The entries of photogan's processing history in ``xmp``, oldest first."""
    if not xmp:
        return []
    match = _SEQ_END.search(xmp)
    if match is None:
        return []
    items = re.findall(rb"<rdf:li>(.*?)</rdf:li>", match.group(1), re.DOTALL)
    return [unescape(item.decode("utf-8", "replace")) for item in items]


# -- JPEG: XMP over one segment (Adobe XMP Specification Part 3, 1.1.3.1) -------------------------------------------

#: The signatures of a JPEG APP1 segment that holds the standard XMP, and one that holds a chunk of extended XMP.
STANDARD_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
EXTENDED_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
#: The most bytes one JPEG marker segment carries after its length field.
SEGMENT_PAYLOAD = 65533
_CHUNK = SEGMENT_PAYLOAD - len(EXTENDED_SIGNATURE) - 32 - 8  # a GUID and two 32-bit numbers in every chunk
_XMP_NOTE = "http://ns.adobe.com/xmp/note/"
_HAS_EXTENDED = re.compile(rb'\s*xmpNote:HasExtendedXMP\s*=\s*["\']([0-9A-Fa-f]{32})["\']')
_XPACKET = re.compile(rb"<\?xpacket[^>]*\?>\s*")
_RDF_BODY = re.compile(rb"<rdf:RDF[^>]*>(.*)</rdf:RDF>", re.DOTALL)
_HISTORY_DESCRIPTION = re.compile(
    rb'<rdf:Description rdf:about="" xmlns:photogan="[^"]*"><photogan:History>.*?</rdf:Description>\n?', re.DOTALL
)


def _segment(payload: bytes) -> bytes:
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_segments(xmp: bytes) -> bytes:
    """The APP1 segments that carry ``xmp`` in a JPEG file: one when it fits, else a standard XMP that points to
    an extended XMP in chunks of 65,458 bytes (readers that merge extended XMP, such as Adobe's and ExifTool, see
    all of it; others see photogan's processing history, which stays in the standard part)."""
    if len(STANDARD_SIGNATURE) + len(xmp) <= SEGMENT_PAYLOAD:
        return _segment(STANDARD_SIGNATURE + xmp)
    history = _HISTORY_DESCRIPTION.search(xmp)
    rest = xmp if history is None else xmp[: history.start()] + xmp[history.end() :]
    extended = _XPACKET.sub(b"", rest).strip()  # a serialization of its own, not a packet
    guid = hashlib.md5(extended, usedforsecurity=False).hexdigest().upper().encode()
    pointer = f'<rdf:Description rdf:about="" xmlns:xmpNote="{_XMP_NOTE}" xmpNote:HasExtendedXMP="'.encode()
    standard = _PACKET.encode().replace(
        b"</rdf:RDF>", pointer + guid + b'"/>\n' + (history.group(0) if history else b"") + b"</rdf:RDF>"
    )
    out = _segment(STANDARD_SIGNATURE + standard)
    for offset in range(0, len(extended), _CHUNK):
        header = EXTENDED_SIGNATURE + guid + len(extended).to_bytes(4, "big") + offset.to_bytes(4, "big")
        out += _segment(header + extended[offset : offset + _CHUNK])
    return out


def with_extended(standard: bytes, segments: list[bytes]) -> bytes:
    """The XMP of a JPEG file read whole: ``standard`` with the extended XMP its ``xmpNote:HasExtendedXMP`` names
    (assembled from ``segments``, the file's APP1 payloads) merged into it as one packet. ``standard`` unchanged
    when it names none, or when the chunks are missing or do not match their GUID."""
    match = _HAS_EXTENDED.search(standard)
    if match is None:
        return standard
    guid = match.group(1).upper()
    start = len(EXTENDED_SIGNATURE)
    chunks: dict[int, bytes] = {}
    total = 0
    for payload in segments:
        if payload.startswith(EXTENDED_SIGNATURE) and payload[start : start + 32].upper() == guid:
            total = int.from_bytes(payload[start + 32 : start + 36], "big")
            chunks[int.from_bytes(payload[start + 36 : start + 40], "big")] = payload[start + 40 :]
    extended = b"".join(chunks[k] for k in sorted(chunks))
    if (
        not chunks
        or len(extended) != total
        or hashlib.md5(extended, usedforsecurity=False).hexdigest().upper() != (guid.decode())
    ):
        return standard
    body = _RDF_BODY.search(extended)
    if body is None or not _RDF_END.search(standard):
        return standard
    merged = _HAS_EXTENDED.sub(b"", standard, count=1)
    where = list(_RDF_END.finditer(merged))[-1].start()
    return merged[:where] + body.group(1).strip() + b"\n" + merged[where:]

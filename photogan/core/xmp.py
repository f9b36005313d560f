"""photogan's processing history in a photo's XMP: one ``photogan:History`` sequence, one entry per time photogan
wrote the photo (when, which version, which models, what size), added to whatever XMP the photo already has.

The history is its own ``rdf:Description`` in photogan's namespace, so the photo's other XMP (Lightroom's
develop settings, Photoshop's history, IPTC Core) is left byte for byte as it was.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, unescape

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
    return f"<rdf:li>{escape(text)}</rdf:li>".encode()


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

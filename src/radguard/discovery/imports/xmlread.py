"""Reading a scanner's XML report strictly: bounded size, no entities, located errors.

Scanner reports come from other tools and may be truncated, edited or hostile. The bytes are
read through :mod:`radguard.textfiles` (size bounded before parsing), parsed with defusedxml
(entity declarations, external references and "billion laughs" expansions are refused; a bare
``<!DOCTYPE nmaprun>`` as nmap writes is allowed because it declares nothing), and every
problem becomes an :class:`~radguard.errors.InputError` naming the file and the element.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from radguard.errors import InputError
from radguard.textfiles import NUL_REFUSED, limits, read_bytes, sniff_encoding


def parse_xml(path: Path, root_tags: tuple[str, ...], what: str) -> Element:
    """The root element of the XML file at ``path``, which must be one of ``root_tags``.

    :param path: the report file.
    :param root_tags: the element names a report of this kind starts with.
    :param what: the report kind, for the error message ("an nmap -oX report").
    """
    source = str(path)
    data = read_bytes(path, limits().file_bytes)
    nul = data.find(b"\x00")
    if nul >= 0 and sniff_encoding(data[:4]) != "utf-16":
        line = data[:nul].count(b"\n") + 1
        raise InputError(source, f"line {line}", None, NUL_REFUSED)
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(source, None, None, "refused: the XML declares entities or external references "
                                             f"({type(exc).__name__}); radguard never expands them") from None
    except ParseError as exc:
        line, column = exc.position
        raise InputError(source, f"line {line}, column {column + 1}", None,
                         f"invalid XML: {str(exc).split(':')[0]} (is the file cut short or not XML?)") from None
    tag = local(root.tag)
    if tag not in root_tags:
        raise InputError(source, f"element <{tag}>", None,
                         f"the root element is <{tag}>, not {' or '.join(f'<{t}>' for t in root_tags)}: "
                         f"this is not {what}")
    return root


def local(tag: str) -> str:
    """An element name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def text(element: Element | None) -> str | None:
    """The stripped text of an element, None when missing or blank."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def port_number(value: str | None, source: str, where: str) -> int:
    """A TCP/UDP port from an attribute, or an InputError naming the element."""
    try:
        port = int(value or "")
    except ValueError:
        raise InputError(source, where, "port", f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise InputError(source, where, "port", f"{port} is not a port number (0-65535)")
    return port


def host_address(value: str | None, source: str, where: str) -> str:
    """A host address as radguard stores it (an IP address or a host name), validated."""
    import ipaddress

    if not value or not value.strip():
        raise InputError(source, where, "address", "the host has no address")
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not all(c.isalnum() or c in "-._" for c in value):
        raise InputError(source, where, "address", f"{value[:60]!r} is neither an IP address nor a host name")
    return value.lower()

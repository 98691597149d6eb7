"""Which links from imported data may be rendered as links: only absolute http and https URLs.

Advisory URLs, references and evidence links come from feeds, vendor files and imports that
no one here wrote. A ``javascript:`` or ``data:`` URL rendered as ``<a href>`` runs in the
signed-in user's session (the Content-Security-Policy blocks it in browsers that honour it,
but a page should never emit one). Every template that links to a URL it did not build
itself passes it through the ``http_url`` filter, which returns ``None`` for anything else so
the template shows plain text instead; a test walks the templates to keep it that way.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def http_url(value: object) -> str | None:
    """``value`` if it is an absolute ``http``/``https`` URL with a host, else ``None``.

    :param value: a URL from imported data (any type; non-strings are refused).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or any(ord(ch) < 0x21 or ch == "\\" for ch in text):
        return None  # control characters and backslashes are how scheme filters are usually evaded
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text

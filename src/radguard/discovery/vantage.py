"""Where a scan was run from: the network zone of the machine that ran ``radguard discover``.

What a scan can reach depends on where it starts. A scan run from a workstation on the general
hospital network that reaches a modality's DICOM port is evidence that the modality is not
segmented, whatever the zone names in the inventory say. ``--vantage-zone`` records that zone
with the scan (``scan.options["vantage_zone"]``); the segmentation check reads it back through
:func:`vantage_zones`, so the checks stage never queries the scan table itself.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.discovery import Scan
from radguard.errors import InputError

OPTION_KEY = "vantage_zone"
MAX_LENGTH = 64
# Printable, no control characters: a zone name as the inventory's network_zone spells it.
_ZONE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def check_vantage_zone(value: str | None, option: str = "--vantage-zone") -> str | None:
    """The zone name stripped, or None; anything empty, over 64 characters or with control
    characters is an :class:`InputError` naming the option."""
    if value is None:
        return None
    text = value.strip()
    if not text or not _ZONE.match(text):
        raise InputError(option, None, None,
                         f"{value!r} is not a zone name (1-{MAX_LENGTH} printable characters, e.g. corporate-lan)")
    return text


def vantage_zones(session: Session) -> dict[int, str]:
    """Scan ID → the zone it was run from, for every scan that recorded one."""
    out: dict[int, str] = {}
    for scan_id, options in session.execute(select(Scan.id, Scan.options)):
        zone = options.get(OPTION_KEY) if isinstance(options, dict) else None
        if isinstance(zone, str) and zone.strip():
            out[int(scan_id)] = zone.strip()
    return out

"""Editing a few inventory fields of one stored asset, where a finding's fix says to record them.

The inventory is normally written by ``radguard inventory import``; this is the one write path
for changing single fields in place (the web asset page uses it). A change is validated by the
same :class:`~radguard.inventory.schema.AssetRecord` rules as an import, applied to the asset's
whole record, so a value the importer would refuse is refused here with the field named, and
nothing is written unless every field is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from radguard.db.models.inventory import Asset
from radguard.errors import InputError
from radguard.inventory.exporter import asset_record
from radguard.inventory.schema import AssetRecord

#: The fields a person may change on the asset page, in the order the form shows them: the ones
#: checks read and fixes ask to record (MFA on remote access, owner, criticality, zone ...).
EDITABLE_FIELDS: tuple[str, ...] = (
    "owner", "criticality", "network_zone", "remote_access", "remote_access_mfa", "stores_phi", "end_of_support",
)


def _shown(text: str) -> str:
    """What was typed, quoted for a refusal: at most 80 characters (a pasted 100 kB value is not
    echoed back whole into the page)."""
    return repr(text) if len(text) <= 80 else repr(text[:80]) + f"… ({len(text):,} characters)"


def _typed(field: str, text: str) -> Any:
    """A form's text as the value the record model validates (blank: not recorded)."""
    control = next((c for c in text if ord(c) < 32 or 127 <= ord(c) < 160), None)
    if control is not None:
        # A NUL made PostgreSQL refuse the whole UPDATE (a 500 page); ESC and other control
        # characters reach terminals through `radguard inventory list` and the CSV exports.
        raise InputError("asset", None, field, f"{_shown(text)} holds a control character (U+{ord(control):04X}); "
                         "type plain text on one line")
    value = text.strip()
    if not value:
        return None
    if field in ("remote_access_mfa", "stores_phi"):
        if value.lower() in ("yes", "true"):
            return True
        if value.lower() in ("no", "false"):
            return False
        raise InputError("asset", None, field, f"{_shown(text)}: choose yes, no or not recorded")
    if field == "criticality":
        # isdigit() alone passed "²" and 100,000 nines to int(): a ValueError (a 500 page)
        if not (value.isascii() and value.isdigit() and len(value) <= 3):
            raise InputError("asset", None, field, f"{_shown(text)} is not a whole number from 1 to 5")
        return int(value)
    return value


def update_asset_fields(session: Session, asset: Asset, changes: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Change some of :data:`EDITABLE_FIELDS` on ``asset``; returns what changed as {field: {from, to}}.

    :param session: the caller's transaction (it commits; on an error nothing was changed).
    :param asset: the stored asset (found through ``inventory.queries`` with the caller's scope).
    :param changes: field name to the text typed (blank clears the field to "not recorded").
    :raises InputError: naming the field, for an unknown field or a value the import would refuse.
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InputError("asset", None, unknown[0], f"cannot be changed here; editable: {', '.join(EDITABLE_FIELDS)}")
    typed = {field: _typed(field, text) for field, text in changes.items()}
    current = asset_record(asset).model_dump(by_alias=True)
    try:
        checked = AssetRecord.model_validate({**current, **typed})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else None
        message = str(err["msg"]).removeprefix("Value error, ")
        raise InputError("asset", None, field, f"{_shown(str(changes.get(field or '', '')))}: {message}") from None
    changed: dict[str, dict[str, Any]] = {}
    for field in typed:
        old, new = getattr(asset, field), getattr(checked, field)
        if old != new:
            changed[field] = {"from": _plain(old), "to": _plain(new)}
            setattr(asset, field, new)
    session.flush()
    return changed


def _plain(value: Any) -> Any:
    """A value as the audit log's JSON keeps it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value

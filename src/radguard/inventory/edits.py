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


def _typed(field: str, text: str) -> Any:
    """A form's text as the value the record model validates (blank: not recorded)."""
    value = text.strip()
    if not value:
        return None
    if field in ("remote_access_mfa", "stores_phi"):
        if value.lower() in ("yes", "true"):
            return True
        if value.lower() in ("no", "false"):
            return False
        raise InputError("asset", None, field, f"{text!r}: choose yes, no or not recorded")
    if field == "criticality":
        if not value.isdigit():
            raise InputError("asset", None, field, f"{text!r} is not a whole number from 1 to 5")
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
        raise InputError("asset", None, field, f"{typed.get(field or '', '')!r}: {message}") from None
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

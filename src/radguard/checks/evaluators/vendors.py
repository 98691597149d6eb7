"""Evaluators for catalog/vendors.yaml: the vendor register and the documents on file.

Vendor findings are about the vendor, not an asset: ``subject="vendor:<name>"``. Thresholds
can be changed through the assessment settings: ``vendor_review_max_days`` (365) and
``vendor_patch_days_max`` (60).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from radguard.checks.evaluators._support import mds2_statements
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.evidence import Evidence
from radguard.db.models.vendors import Vendor
from radguard.inventory.mds2 import EVIDENCE_KIND as MDS2_KIND
from radguard.inventory.sbom import EVIDENCE_KIND as SBOM_KIND
from radguard.inventory.vendors import RemoteAccessMethod, last_review, linked_assets, list_vendors

EOL_NOTICE_MIN_MONTHS = 36
DEFAULT_REVIEW_MAX_DAYS = 365
DEFAULT_PATCH_DAYS_MAX = 60
_DOCUMENTED_CLASSES = ("modality", "pacs", "vna", "ai_application")


def _vendors(ctx: CheckContext) -> list[Vendor]:
    return ctx.memo("vendors.all", lambda: list_vendors(ctx.session))


def _subject(vendor: Vendor) -> str:
    return f"vendor:{vendor.name}"


def _phi_access(vendor: Vendor) -> tuple[bool, dict[str, Any]]:
    """Whether the vendor handles PHI: as declared, or else inferred from the assets it serves."""
    if vendor.phi_access is not None:
        return vendor.phi_access, {"phi_access": vendor.phi_access, "phi_access_source": "vendor register"}
    phi_assets = sorted(f"{a.site.code}/{a.name}" for a in linked_assets(vendor) if a.stores_phi)
    return bool(phi_assets), {"phi_access": None, "phi_assets": phi_assets,
                              "phi_access_source": "linked assets that store PHI"}


@evaluator("RG-VENDOR-NO-BAA")
def vendor_without_baa(ctx: CheckContext) -> Iterator[Observation]:
    for vendor in _vendors(ctx):
        handles_phi, why = _phi_access(vendor)
        if handles_phi and vendor.baa_signed is not True:
            yield Observation(subject=_subject(vendor), evidence={**why, "baa_signed": vendor.baa_signed},
                              exposure=0.6, summary=f"{vendor.name} handles PHI with no signed BAA on record")


@evaluator("RG-VENDOR-NO-CVD")
def vendor_without_cvd(ctx: CheckContext) -> Iterator[Observation]:
    for vendor in _vendors(ctx):
        if not (vendor.security_contact or vendor.psirt_url or vendor.cvd_policy_url):
            yield Observation(subject=_subject(vendor), exposure=0.3,
                              evidence={"security_contact": None, "psirt_url": None, "cvd_policy_url": None},
                              summary=f"no security contact or disclosure policy recorded for {vendor.name}")


def _vendor_patched(ctx: CheckContext, vendor: Vendor) -> dict[str, Any]:
    """The vendor's devices whose MDS2 says the hospital cannot install operating-system updates
    without the manufacturer: third-party (OS) updates need its approval (CSUP-2.4 no) or only
    the manufacturer may install them (CSUP-2.2 yes). For those, the contract's patch timeline
    is the only route to an OS fix."""
    statements = mds2_statements(ctx)
    devices: list[str] = []
    for asset in linked_assets(vendor):
        st = statements.get(asset.id)
        if st is not None and (st.get("CSUP-2.4") == "no" or st.get("CSUP-2.2") == "yes"):
            devices.append(f"{asset.site.code}/{asset.name}")
    return {"vendor_patched_devices": sorted(devices)} if devices else {}


@evaluator("RG-VENDOR-TERMS")
def contract_lacks_terms(ctx: CheckContext) -> Iterator[Observation]:
    today = ctx.now.date()
    patch_max = int(ctx.settings.get("vendor_patch_days_max", DEFAULT_PATCH_DAYS_MAX))
    for vendor in _vendors(ctx):
        current = [c for c in vendor.contracts if c.expires_on is None or c.expires_on >= today]
        dependent = _vendor_patched(ctx, vendor)
        why = (f"; {len(dependent['vendor_patched_devices'])} of its devices take OS updates only through it "
               "(MDS2 CSUP-2.4/CSUP-2.2)") if dependent else ""
        if not current:
            expired = [c.reference for c in vendor.contracts]
            yield Observation(subject=_subject(vendor), key="no-contract", exposure=0.6 if dependent else 0.4,
                              evidence={"current_contracts": 0, "expired_contracts": expired, **dependent},
                              summary=f"no current contract with {vendor.name} is recorded{why}")
            continue
        for c in current:
            missing: list[str] = []
            if c.patch_days is None:
                missing.append("patch timeline")
            elif c.patch_days > patch_max:
                missing.append(f"patch timeline within {patch_max} days (contract says {c.patch_days})")
            if c.eol_notice_months is None or c.eol_notice_months < EOL_NOTICE_MIN_MONTHS:
                missing.append(f"end-of-life notice of at least {EOL_NOTICE_MIN_MONTHS} months")
            if c.incident_notification_hours is None:
                missing.append("incident notification time")
            if missing:
                patch_gap = bool(dependent) and any(m.startswith("patch timeline") for m in missing)
                yield Observation(
                    subject=_subject(vendor), key=c.reference, exposure=0.6 if patch_gap else 0.4,
                    evidence={"contract": c.reference, "missing": missing, "patch_days": c.patch_days,
                              "eol_notice_months": c.eol_notice_months,
                              "incident_notification_hours": c.incident_notification_hours, **dependent},
                    summary=f"contract {c.reference} lacks: {'; '.join(missing)}" + (why if patch_gap else ""),
                )


@evaluator("RG-VENDOR-REVIEW-OVERDUE")
def review_overdue(ctx: CheckContext) -> Iterator[Observation]:
    max_days = int(ctx.settings.get("vendor_review_max_days", DEFAULT_REVIEW_MAX_DAYS))
    cutoff = ctx.now.date() - timedelta(days=max_days)
    for vendor in _vendors(ctx):
        reviewed = last_review(vendor)
        if reviewed is None or reviewed < cutoff:
            yield Observation(subject=_subject(vendor), exposure=0.2,
                              evidence={"last_review": reviewed.isoformat() if reviewed else None,
                                        "max_days": max_days},
                              summary=f"{vendor.name} last reviewed {reviewed.isoformat() if reviewed else 'never'}")


@evaluator("RG-VENDOR-REMOTE-UNBROKERED")
def remote_unbrokered(ctx: CheckContext) -> Iterator[Observation]:
    for vendor in _vendors(ctx):
        method = vendor.remote_access_method
        if method in (None, RemoteAccessMethod.NONE):
            continue
        reasons: list[str] = []
        if method == RemoteAccessMethod.ALWAYS_ON:
            reasons.append("always-on connection")
        if vendor.remote_session_logging is not True:
            reasons.append("sessions not logged" if vendor.remote_session_logging is False
                           else "session logging not recorded")
        if reasons:
            yield Observation(subject=_subject(vendor),
                              evidence={"method": method, "mfa": vendor.remote_access_mfa,
                                        "session_logging": vendor.remote_session_logging, "reasons": reasons},
                              exposure=0.8 if method == RemoteAccessMethod.ALWAYS_ON else 0.5,
                              summary=f"{vendor.name} remote access: {', '.join(reasons)}")


@evaluator("RG-NO-SBOM-MDS2")
def device_without_documents(ctx: CheckContext) -> Iterator[Observation]:
    def load() -> dict[str, set[int]]:
        rows = ctx.session.execute(
            select(Evidence.kind, Evidence.asset_id)
            .where(Evidence.kind.in_((MDS2_KIND, SBOM_KIND)), Evidence.asset_id.is_not(None),
                   Evidence.collected_at <= ctx.now)
        )
        out: dict[str, set[int]] = {MDS2_KIND: set(), SBOM_KIND: set()}
        for kind, asset_id in rows:
            if asset_id is not None:
                out[kind].add(int(asset_id))
        return out

    on_file = ctx.memo("vendors.documents_on_file", load)
    for asset in ctx.assets():
        if asset.asset_class not in _DOCUMENTED_CLASSES:
            continue
        missing = [name for name, kind in (("MDS2", MDS2_KIND), ("SBOM", SBOM_KIND)) if asset.id not in on_file[kind]]
        if missing:
            yield Observation(asset_id=asset.id, evidence={"missing": missing, "vendor": asset.vendor,
                                                           "product": asset.product},
                              exposure=0.3, summary=f"no {' or '.join(missing)} on file")

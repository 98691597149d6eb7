"""Evaluators for catalog/data.yaml: PHI at rest, PHI in transit between sites, buffers."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import answer, is_exposed_zone, is_imaging, mds2_statements
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.inventory import DataFlow
from radguard.inventory.vocab import AssetClass

CLEARTEXT_PROTOCOLS = frozenset({"dicom", "hl7-mllp", "http"})
OFFSITE_CLASSES = frozenset({"cloud_service", "remote_access"})
# What people type when they do not know; treated as "not recorded".
UNKNOWN_WORDS = frozenset({"", "unknown", "?", "n/a", "na", "tbd", "none", "not known"})


@evaluator("RG-PHI-UNENCRYPTED-AT-REST")
def phi_unencrypted(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    mds2 = mds2_statements(ctx)
    for asset in ctx.assets():
        row = attested.get(asset, "encrypted_at_rest")
        if row is not None:
            if answer(row.value) == "no":
                yield Observation(asset_id=asset.id, evidence={"attestation_id": row.id, "attested_by": row.attested_by,
                                                               "encrypted_at_rest": "no",
                                                               "evidence_link": row.evidence_link},
                                  exposure=0.5, summary=f"attested unencrypted at rest by {row.attested_by}")
            continue
        form = mds2.get(asset.id)
        if form is not None and form.get("STCF-1") == "no":
            yield Observation(asset_id=asset.id, evidence=form.quote("STCF-1"),
                              exposure=0.5, summary="MDS2 STCF-1: no encryption at rest")


@evaluator("RG-PHI-CLEARTEXT-OFFSITE")
def phi_cleartext_offsite(ctx: CheckContext) -> Iterator[Observation]:
    assets = {a.id: a for a in ctx.assets()}
    flows = ctx.session.execute(
        select(DataFlow.source_asset_id, DataFlow.target_asset_id, DataFlow.protocol)
        .where(DataFlow.carries_phi.is_(True)).order_by(DataFlow.id)
    )
    for source_id, target_id, protocol in flows:
        source, target = assets.get(source_id), assets.get(target_id)
        if source is None or target is None or protocol not in CLEARTEXT_PROTOCOLS:
            continue
        reasons = []
        if source.site_id != target.site_id:
            reasons.append(f"between sites {source.site.code} and {target.site.code}")
        if target.asset_class in OFFSITE_CLASSES or source.asset_class in OFFSITE_CLASSES:
            reasons.append("to or from a cloud or remote-access service")
        if is_exposed_zone(ctx, source.network_zone) or is_exposed_zone(ctx, target.network_zone):
            reasons.append("through an Internet-facing zone")
        if reasons:
            target_name = f"{target.site.code}/{target.name}"
            yield Observation(asset_id=source.id, key=f"{protocol}->{target_name}",
                              evidence={"protocol": protocol, "target": target_name, "reasons": reasons},
                              exposure=0.8, summary=f"{protocol} to {target_name} in cleartext ({'; '.join(reasons)})")
    # The manufacturer's word: the device talks to systems outside the customer's network (a
    # service host, a cloud; MDS2 CONN-4) and cannot protect the PII it sends.
    for st in mds2_statements(ctx).values():
        if st.asset_id not in assets or st.get("CONN-4") != "yes":
            continue
        gaps = st.transmission_gaps()
        if gaps:
            yield Observation(asset_id=st.asset_id, key="mds2:CONN-4", exposure=0.7,
                              evidence=st.quote("CONN-4", "MPII-1", "CONN-7", "TXCF-2", "TXCF-2.1"),
                              summary="MDS2: talks to systems outside the customer network (CONN-4) with "
                                      + "; ".join(gaps))


@evaluator("RG-BUFFER-UNKNOWN")
def buffer_unknown(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    for asset in ctx.assets():
        if asset.asset_class != AssetClass.MODALITY or attested.value(asset, "buffer_policy_known") == "yes":
            continue
        size_known = asset.buffer_hours is not None or asset.buffer_studies is not None
        policy_known = (asset.auto_delete_policy or "").strip().lower() not in UNKNOWN_WORDS
        if not (size_known and policy_known):
            missing = [name for name, known in (("buffer size", size_known), ("auto-delete policy", policy_known))
                       if not known]
            yield Observation(asset_id=asset.id, evidence={"buffer_hours": asset.buffer_hours,
                                                           "buffer_studies": asset.buffer_studies,
                                                           "auto_delete_policy": asset.auto_delete_policy},
                              exposure=0.4, summary=f"{' and '.join(missing)} not recorded")


@evaluator("RG-PHI-UNKNOWN")
def phi_unknown(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if (is_imaging(asset) or asset.asset_class == "cloud_service") and asset.stores_phi is None:
            yield Observation(asset_id=asset.id, evidence={"stores_phi": None}, exposure=0.2,
                              summary="PHI storage not recorded")

"""Evaluators for catalog/mds2.yaml: an attested "no" in a device's MDS2 becomes a finding.

Each reads the newest MDS2 of an asset (``doc.mds2`` evidence collected up to the assessment
time). Only explicit answers count: "yes", "no" or "n/a". Free text and blanks are unknown and
never raise a finding on their own, because the reader of the form does not guess either.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from radguard.checks.evaluators._support import Statement, mds2_statements
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.evidence import Evidence
from radguard.inventory.sbom import EVIDENCE_KIND as SBOM_KIND


def statements(ctx: CheckContext) -> list[Statement]:
    return list(mds2_statements(ctx).values())


@evaluator("RG-MDS2-DEFAULT-ACCOUNTS")
def default_accounts(ctx: CheckContext) -> Iterator[Observation]:
    questions = ("PAUT-1", "PAUT-4", "PAUT-5", "SGUD-3.1")
    for st in statements(ctx):
        noes = [q for q in questions if st.get(q) == "no"]
        if noes:
            yield Observation(asset_id=st.asset_id, evidence={**st.quote(*questions), "attested_no": noes},
                              exposure=0.7, summary=f"MDS2 answers no to {', '.join(noes)}")


@evaluator("RG-MDS2-REMOTE-NOT-OWNER-CONTROLLED")
def remote_not_owner_controlled(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        if st.get("RMOT-1") != "no" and st.get("RMOT-1.1") == "no":
            evidence = st.quote("RMOT-1", "RMOT-1.1", "RMOT-1.2", "RMOT-1.3", "CSUP-2.2", "CONN-4")
            yield Observation(asset_id=st.asset_id, evidence=evidence, exposure=0.7,
                              summary="MDS2 RMOT-1.1: the owner cannot initiate remote service sessions")


@evaluator("RG-MDS2-NO-TRANSMISSION-ENCRYPTION")
def no_transmission_encryption(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        gaps = st.transmission_gaps()
        if gaps:
            yield Observation(asset_id=st.asset_id, evidence=st.quote("MPII-1", "CONN-7", "TXCF-2", "TXCF-2.1"),
                              exposure=0.6, summary="MDS2: " + "; ".join(gaps))


@evaluator("RG-MDS2-NO-MALWARE-PROTECTION")
def no_malware_protection(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        if (st.get("MLDP-1") != "no" and st.get("MLDP-2") == "no"
                and st.get("MLDP-3") != "yes" and st.get("MLDP-4") != "yes"):
            yield Observation(asset_id=st.asset_id, evidence=st.quote("MLDP-1", "MLDP-2", "MLDP-3", "MLDP-4"),
                              exposure=0.6, summary="MDS2: no anti-malware, no allow-listing, no compensating control")


@evaluator("RG-MDS2-NO-AUDIT-LOGGING")
def no_audit_logging(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        evidence = st.quote("AUDT-1", "AUDT-2", "AUDT-5", "AUDT-5.2", "AUDT-5.3")
        if st.get("AUDT-2") == "no":
            yield Observation(asset_id=st.asset_id, key="not-logged", evidence=evidence, exposure=0.4,
                              summary="MDS2 AUDT-2: events are not recorded in an audit log")
        elif st.get("AUDT-5.2") == "no" and st.get("AUDT-5.3") != "yes":
            yield Observation(asset_id=st.asset_id, key="not-exported", evidence=evidence, exposure=0.3,
                              summary="MDS2 AUDT-5.2: the audit log cannot be sent to a SIEM")


@evaluator("RG-MDS2-REMOVABLE-MEDIA")
def removable_media_boot(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        no_ports = st.get("CONN-1.2.2") == "no" and st.get("CONN-1.2.3") == "no"
        if st.get("SAHD-11") == "no" and not no_ports:
            yield Observation(asset_id=st.asset_id, evidence=st.quote("SAHD-11", "CONN-1.2.2", "CONN-1.2.3"),
                              exposure=0.4, summary="MDS2 SAHD-11: boot from removable media cannot be prohibited")


@evaluator("RG-MDS2-NO-SBOM")
def manufacturer_without_sbom(ctx: CheckContext) -> Iterator[Observation]:
    with_sbom = _assets_with_sbom(ctx)
    for st in statements(ctx):
        if st.get("SBOM-1") == "no" and st.asset_id not in with_sbom:
            yield Observation(asset_id=st.asset_id, evidence=st.quote("SBOM-1"), exposure=0.3,
                              summary="MDS2 SBOM-1: no SBOM available")


@evaluator("RG-MDS2-NO-CVD")
def manufacturer_without_cvd(ctx: CheckContext) -> Iterator[Observation]:
    for st in statements(ctx):
        if st.get("DOC-8") == "no":
            yield Observation(asset_id=st.asset_id, evidence=st.quote("DOC-8"), exposure=0.3,
                              summary="MDS2 DOC-8: no coordinated vulnerability disclosure programme")


def _assets_with_sbom(ctx: CheckContext) -> set[int]:
    def load() -> set[int]:
        rows = ctx.session.scalars(
            select(Evidence.asset_id).where(Evidence.kind == SBOM_KIND, Evidence.asset_id.is_not(None),
                                            Evidence.collected_at <= ctx.now)
        )
        return {int(a) for a in rows if a is not None}

    return ctx.memo("mds2.assets_with_sbom", load)

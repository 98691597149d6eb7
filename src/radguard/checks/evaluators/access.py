"""Evaluators for catalog/access.yaml: remote access, MFA and credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import answer, mds2_statements
from radguard.checks.registry import CheckContext, Observation, evaluator

REMOTE_ON = frozenset({"on-demand", "always-on"})


@evaluator("RG-REMOTE-ALWAYS-ON")
def remote_always_on(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.remote_access == "always-on":
            yield Observation(asset_id=asset.id, evidence={"remote_access": "always-on"}, exposure=0.7,
                              summary="remote access is always on")


@evaluator("RG-REMOTE-NO-MFA")
def remote_without_mfa(ctx: CheckContext) -> Iterator[Observation]:
    """Remote access recorded in the inventory without MFA on it; or, where the inventory does
    not say, an MDS2 that allows remote service (RMOT-1 yes) on a device without MFA (PAUT-8 no).
    PAUT-8 yes never excuses a path: the device supporting MFA does not mean the path uses it."""
    mds2 = mds2_statements(ctx)
    for asset in ctx.assets():
        if asset.remote_access_mfa is True:
            continue
        st = mds2.get(asset.id)
        device_without_mfa = st is not None and st.get("PAUT-8") == "no"
        if asset.remote_access in REMOTE_ON:
            recorded = "not recorded" if asset.remote_access_mfa is None else "no"
            evidence: dict[str, Any] = {"remote_access": asset.remote_access,
                                        "remote_access_mfa": asset.remote_access_mfa}
            if st is not None and ("PAUT-8" in st.answers or "RMOT-1" in st.answers):
                evidence["mds2"] = st.quote("RMOT-1", "PAUT-8")
            yield Observation(
                asset_id=asset.id, evidence=evidence,
                exposure=0.9 if asset.remote_access == "always-on" else 0.7,
                summary=f"{asset.remote_access} remote access, MFA {recorded}"
                + ("; the device itself has no MFA (MDS2 PAUT-8), so the gateway must provide it"
                   if device_without_mfa else ""),
            )
        elif asset.remote_access is None and st is not None and device_without_mfa and st.get("RMOT-1") == "yes":
            yield Observation(
                asset_id=asset.id, exposure=0.7,
                evidence={"remote_access": None, "remote_access_mfa": asset.remote_access_mfa,
                          "mds2": st.quote("RMOT-1", "PAUT-8")},
                summary="MDS2: remote service allowed (RMOT-1) on a device without MFA (PAUT-8); the inventory "
                        "records no remote path and no MFA on one",
            )


@evaluator("RG-CLOUD-CONSOLE-NO-MFA")
def cloud_console_without_mfa(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    for asset in ctx.assets():
        if asset.asset_class != "cloud_service":
            continue
        row = attested.get(asset, "console_mfa")
        value = answer(row.value) if row is not None else answer((asset.attributes or {}).get("console_mfa"))
        if value != "yes":
            yield Observation(asset_id=asset.id,
                              evidence={"console_mfa": value, "attestation_id": row.id if row else None},
                              exposure=0.8, summary="no current attestation of MFA on the cloud console")


@evaluator("RG-REMOTE-SESSION-UNLOGGED")
def remote_sessions_unlogged(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    for asset in ctx.assets():
        if asset.asset_class != "remote_access":
            continue
        row = attested.get(asset, "remote_sessions_logged")
        value = answer(row.value) if row is not None else answer((asset.attributes or {}).get("sessions_logged"))
        if value != "yes":
            yield Observation(asset_id=asset.id, evidence={"remote_sessions_logged": value}, exposure=0.5,
                              summary="no attestation that remote sessions are logged")


@evaluator("RG-DEFAULT-CREDENTIALS")
def default_credentials(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    for asset in ctx.assets():
        row = attested.get(asset, "default_credentials_changed")
        if row is not None:
            if answer(row.value) == "no":
                yield Observation(asset_id=asset.id,
                                  evidence={"attestation_id": row.id, "attested_by": row.attested_by,
                                            "default_credentials_changed": "no"},
                                  exposure=0.8,
                                  summary=f"default credentials unchanged (attested by {row.attested_by})")
        elif (asset.attributes or {}).get("default_credentials") is True:
            yield Observation(asset_id=asset.id, evidence={"default_credentials": True}, exposure=0.8,
                              summary="inventory records default credentials in use")

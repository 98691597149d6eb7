"""Evaluators for catalog/access.yaml: remote access, MFA and credentials."""

from __future__ import annotations

from collections.abc import Iterator

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import answer
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
    for asset in ctx.assets():
        if asset.remote_access in REMOTE_ON and asset.remote_access_mfa is not True:
            recorded = "not recorded" if asset.remote_access_mfa is None else "no"
            yield Observation(
                asset_id=asset.id,
                evidence={"remote_access": asset.remote_access, "remote_access_mfa": asset.remote_access_mfa},
                exposure=0.9 if asset.remote_access == "always-on" else 0.7,
                summary=f"{asset.remote_access} remote access, MFA {recorded}",
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

"""Peers shared by the discovery tests (started once per session, stopped by PID)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.discovery.engine import Probed, ScanOptions, run_scan
from radguard.discovery.results import EndpointDoc
from tests.support.peers import OrthancConfig, Peer, orthanc, self_signed_certificate


def probe(endpoints: list[tuple[str, int]], **options: object) -> list[EndpointDoc]:
    """Run the engine on endpoints, in order; a short timeout keeps silent peers cheap."""
    opts = ScanOptions(timeout=float(options.pop("timeout", 2.0)), **options)  # type: ignore[arg-type]
    results: list[Probed] = run_scan(endpoints, opts)  # the same event loop the CLI uses
    by_key = {(r.doc.host, r.doc.port): r.doc for r in results}
    return [by_key[e] for e in endpoints]


@pytest.fixture(scope="session")
def orthanc_open() -> Iterator[Peer]:
    """Orthanc as installed: any AE may associate, echo, find and store; REST without auth."""
    with orthanc(OrthancConfig()) as peer:
        yield peer


@pytest.fixture(scope="session")
def orthanc_locked() -> Iterator[Peer]:
    """Orthanc with the called-AE check on, C-FIND only for its one known modality, REST auth on."""
    with orthanc(OrthancConfig(check_called_aet=True, always_allow_find=False,
                               known_modalities={"KNOWN": "KNOWNSCU"}, auth=True)) as peer:
        yield peer


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("cert"), "rg-dicom-tls")


@pytest.fixture(scope="session")
def orthanc_tls(certificate: tuple[Path, Path]) -> Iterator[Peer]:
    """Orthanc whose DICOM port speaks TLS only (no client certificate required)."""
    with orthanc(OrthancConfig(dicom_tls=certificate, dicomweb=False)) as peer:
        yield peer


def observations(docs: list[EndpointDoc], database: Database) -> dict[str, list[str]]:
    """Run every check evaluator on these endpoint documents stored as discovery evidence
    (as ``radguard discover`` stores them); return check ID → the endpoints it flagged."""
    from radguard.checks.registry import CheckContext, load_evaluators
    from radguard.db.models.evidence import Evidence

    found: dict[str, list[str]] = {}
    with database.transaction() as session:
        for doc in docs:
            session.add(Evidence(kind="probe.endpoint", host=doc.host, port=doc.port, received=doc.document(),
                                 sent={}, source="test"))
        session.flush()
        ctx = CheckContext(session)
        for check_id, evaluate in sorted(load_evaluators().items()):
            for obs in evaluate(ctx):
                found.setdefault(check_id, []).append(obs.key or str(obs.subject))
    return found

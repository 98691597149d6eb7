"""One capture of real imaging traffic on loopback, made once per session for the passive tests.

Every server listens on its own 127/8 address so hosts are distinct; every client connects
from 127.0.0.1. The traffic: DCMTK storescu (the seeded CT), findscu (seeded keys) and
movescu (destination ``DESTAE``) to Orthanc; a pynetdicom association that the pynetdicom
SCP rejects; an echoscu over DICOM TLS to an Orthanc whose DICOM port speaks TLS only; an HL7
ADT^A01 (seeded PID) with the ``hl7`` package's MLLP client, answered by an ACK; DICOMweb and
REST requests to Orthanc with an Authorization header, a seeded cookie, seeded query string
and JSON body; and a GET to a Python HTTP server (for a Server banner).
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pynetdicom import AE

from tests.support.capture import (
    SEED_BIRTH,
    SEED_ID,
    SEED_NAME,
    findscu,
    mllp_listener,
    seeded_adt,
    seeded_dicom,
    send_hl7,
    storescu,
    tcpdump,
)
from tests.support.peers import OrthancConfig, orthanc, pynetdicom_scp, self_signed_certificate
from tests.support.ports import free_port

PACS = "127.0.0.5"       # Orthanc: DICOM and DICOMweb
REJECTOR = "127.0.0.6"   # pynetdicom SCP that only accepts KNOWNSCU
HL7_HOST = "127.0.0.7"   # MLLP listener
WEB = "127.0.0.8"        # Python http.server (a Server banner)
TLS_HOST = "127.0.0.9"   # Orthanc with DICOM over TLS
CLIENT = "127.0.0.1"


@dataclass
class Traffic:
    """The capture and what was on the wire, for assertions."""

    pcap: Path
    pacs_port: int
    pacs_http: int
    rejector_port: int
    hl7_port: int
    web_port: int
    tls_port: int
    certificate: tuple[Path, Path]
    http_server_banner: str


def movescu(host: str, port: int, called: str, calling: str, destination: str) -> None:
    """A patient-level C-MOVE; the destination is unreachable, so Orthanc fails the move."""
    subprocess.run(["/usr/bin/movescu", "-P", "-aet", calling, "-aec", called, "-aem", destination,
                    "-k", "QueryRetrieveLevel=PATIENT", "-k", f"PatientID={SEED_ID}", host, str(port)],
                   capture_output=True, timeout=60)


def echoscu_tls(host: str, port: int, called: str, calling: str) -> None:
    subprocess.run(["/usr/bin/echoscu", "--anonymous-tls", "-ic", "-aet", calling, "-aec", called, host, str(port)],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    work = tmp_path_factory.mktemp("passive")
    cert = self_signed_certificate(work, "rg-dicom-tls")
    ct = seeded_dicom(work / "seeded.dcm")
    banner = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    web_port = free_port(WEB)
    web = http.server.ThreadingHTTPServer((WEB, web_port), Handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with orthanc(OrthancConfig(known_modalities={"DEST": "DESTAE"})) as pacs, \
                orthanc(OrthancConfig(dicom_tls=cert, dicomweb=False)) as tls, \
                pynetdicom_scp("REJECTOR", host=REJECTOR) as rejector, mllp_listener(HL7_HOST) as mllp:
            ports = [pacs.dicom_port, pacs.http_port, tls.dicom_port, rejector.dicom_port, mllp.port, web_port]
            with tcpdump(work / "traffic.pcap", ports) as pcap:
                storescu(PACS, pacs.dicom_port, pacs.aet, "MODCT1", ct)
                findscu(PACS, pacs.dicom_port, pacs.aet, "WSFIND")
                movescu(PACS, pacs.dicom_port, pacs.aet, "WSMOVE", "DESTAE")
                ae = AE(ae_title="STRANGER")
                ae.add_requested_context("1.2.840.10008.1.1")
                assoc = ae.associate(REJECTOR, rejector.dicom_port, ae_title="REJECTOR")
                assert assoc.is_rejected
                echoscu_tls(TLS_HOST, tls.dicom_port, tls.aet, "TLSSCU")
                assert "MSA|AA" in send_hl7(HL7_HOST, mllp.port, seeded_adt())
                base = f"http://{PACS}:{pacs.http_port}"
                headers = {"Authorization": "Basic cmd1c2VyOnJncGFzcw==", "Cookie": f"session={SEED_ID}"}
                with httpx.Client(headers=headers, timeout=10) as client:
                    assert client.get(f"{base}/dicom-web/studies", params={"PatientID": SEED_ID}).status_code == 200
                    found = client.post(f"{base}/tools/find", content=json.dumps(
                        {"Level": "Patient", "Query": {"PatientName": SEED_NAME, "PatientBirthDate": SEED_BIRTH},
                         "Expand": True}))
                    assert SEED_ID in found.text  # the response body carries the seeded patient too
                got = httpx.get(f"http://{WEB}:{web_port}/status", timeout=10)
                banner["server"] = got.headers["server"]
            yield Traffic(pcap, pacs.dicom_port, pacs.http_port, rejector.dicom_port, mllp.port, web_port,
                          tls.dicom_port, cert, banner["server"])
    finally:
        web.shutdown()
        web.server_close()

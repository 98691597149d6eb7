"""`radguard passive capture`: a bounded live capture on loopback, imported like a file."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable

from radguard.db.session import Database
from radguard.passive.store import passive_evidence
from tests.conftest import CliResult
from tests.passive.conftest import PACS, Traffic


def test_live_capture_on_loopback(rg: Callable[..., CliResult], sqlite_db: Database, traffic: Traffic) -> None:
    done = threading.Event()

    def echo() -> None:
        # Echo until the capture ends rather than once after a guessed delay: on a loaded machine
        # dumpcap may take longer than any fixed delay to start listening.
        while not done.is_set():
            subprocess.run(["/usr/bin/echoscu", "-aet", "LIVEECHO", "-aec", "ORTHANC", PACS, str(traffic.pacs_port)],
                           check=True, capture_output=True, timeout=30)
            done.wait(0.3)

    thread = threading.Thread(target=echo)
    thread.start()
    started = time.monotonic()
    try:
        r = rg("--db", sqlite_db.url, "passive", "capture", "--interface", "lo", "--seconds", "3",
               "--max-megabytes", "50", "--json")
    finally:
        done.set()
        thread.join()
    assert r.code == 0, r.err
    assert 3 <= time.monotonic() - started < 30  # bounded by --seconds, not by the traffic
    summary = json.loads(r.out)
    assert summary["capture"] == "live lo 3 s"
    with sqlite_db.transaction() as session:
        echoes = [d for d in passive_evidence(session, "passive.dicom") if d["calling_ae"] == "LIVEECHO"]
    assert echoes, "no echo association was captured"
    [echo_doc] = echoes  # one record per client/server pair, however many associations
    assert (echo_doc["server"], echo_doc["server_port"], list(echo_doc["commands"])) == \
        (PACS, traffic.pacs_port, ["C-ECHO"])
    assert echo_doc["commands"]["C-ECHO"] >= 1


def test_live_capture_bad_interface(rg: Callable[..., CliResult], sqlite_db: Database) -> None:
    r = rg("--db", sqlite_db.url, "passive", "capture", "--interface", "rg-no-such-if", "--seconds", "1")
    assert r.code != 0 and "rg-no-such-if" in r.err and "cannot capture" in r.err and "Traceback" not in r.err
    r = rg("--db", sqlite_db.url, "passive", "capture", "--interface", "lo", "--seconds", "0")
    assert r.code != 0 and "--seconds" in r.err

"""Notifications: a real SMTP server (aiosmtpd, STARTTLS + AUTH) and an HTTPS webhook receiver
that checks HMAC signatures and fails on purpose; change-only sending, quiet hours, digest, log."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from radguard.db.session import Database
from radguard.errors import InputError
from radguard.integrations.notify import collect_events, load_rules, log, payload, run
from tests.integrations.conftest import SYSLOG, parse_cef, wait_for
from tests.support.ports import free_port

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert session.ssl is not None, "mail arrived without STARTTLS"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def auth(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"rg" and auth_data.password == b"s3cret"
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(cert: tuple[Path, Path]) -> Iterator[tuple[int, Mailbox]]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=box.auth, auth_require_tls=True)
    controller.start()
    yield port, box
    controller.stop()


@pytest.fixture
def webhook(cert: tuple[Path, Path]) -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """HTTPS receiver: answers 503 to the first ``fail[0]`` requests, 401 to a bad signature."""
    received: list[dict[str, Any]] = []
    fail = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            good = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
            if fail[0] > 0:
                fail[0] -= 1
                code = 503
            elif not hmac.compare_digest(self.headers.get("X-Radguard-Signature", ""), good):
                code = 401
            else:
                received.append(json.loads(body))
                code = 204
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/hook", received, fail
    server.shutdown()
    server.server_close()


def _rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_smtp_starttls_auth_change_only_and_quiet_hours(
        findings_db: Database, smtp: tuple[int, Mailbox], cert: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    port, box = smtp
    monkeypatch.setenv("RG_SMTP_PASSWORD", "s3cret")
    rules = load_rules(_rules(tmp_path, f"""
rules:
  - name: security-mail
    events: [kev_ransomware, new_critical]
    min_severity: high
    quiet_hours: "22:00-07:00"
    channel: {{type: smtp, host: 127.0.0.1, port: {port}, user: rg, password_env: RG_SMTP_PASSWORD,
              ca_file: "{cert[0]}", sender: radguard@example.test, to: [soc@example.test]}}
"""))
    with findings_db.read() as s:
        expected = [e for e in collect_events(s, NOON) if e.kind in ("kev_ransomware", "new_critical")]
    n = len(expected)
    assert n >= 2 and any(e.kind == "kev_ransomware" for e in expected)
    with findings_db.transaction() as s:
        night = run(s, rules, now=NOON.replace(hour=23))
    assert night == {"sent": 0, "failed": 0, "deferred": n} and box.messages == []
    with findings_db.transaction() as s:
        first = run(s, rules, now=NOON)
    assert first["sent"] == n and len(box.messages) == n and box.logins
    subjects = sorted(m["Subject"] for m in box.messages)
    assert any(x.startswith("radguard: KEV-listed, ransomware-used:") for x in subjects)
    assert any(x.startswith("radguard: New critical:") for x in subjects)
    assert all(m["To"] == "soc@example.test" for m in box.messages)
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON)["sent"] == 0  # nothing changed: nothing sent
    assert len(box.messages) == n
    with findings_db.read() as s:
        statuses = [r["status"] for r in log(s)]
    assert statuses.count("sent") == n and statuses.count("deferred") == n


def test_wrong_password_is_logged_as_failed(findings_db: Database, smtp: tuple[int, Mailbox],
                                            cert: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    port, box = smtp
    monkeypatch.setenv("RG_SMTP_PASSWORD", "wrong")
    rules = load_rules(_rules(tmp_path, f"""
rules:
  - name: m
    events: [new_critical]
    channel: {{type: smtp, host: 127.0.0.1, port: {port}, user: rg, password_env: RG_SMTP_PASSWORD,
              ca_file: "{cert[0]}", sender: a@example.test, to: [b@example.test]}}
"""))
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON)["failed"] >= 1
        assert "535" in (log(s)[0]["detail"] or "")
    assert box.messages == []


def test_signed_webhook_retries_with_backoff(findings_db: Database, cert: tuple[Path, Path], tmp_path: Path,
                                             webhook: tuple[str, list[dict[str, Any]], list[int]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, received, fail = webhook
    monkeypatch.setenv("RG_HOOK_SECRET", "hook-secret")
    rules = load_rules(_rules(tmp_path, f"""
rules:
  - name: hook
    mode: digest
    channel: {{type: webhook, url: "{url}", secret_env: RG_HOOK_SECRET, ca_file: "{cert[0]}", retries: 4,
              backoff_s: 0.5}}
"""))
    fail[0] = 2
    sleeps: list[float] = []
    with findings_db.transaction() as s:
        counts = run(s, rules, now=NOON, sleep=sleeps.append)
        entries = log(s)
    assert sleeps == [0.5, 1.0] and counts["sent"] >= 3 and len(received) == 1  # one digest
    events = {e["event"] for e in received[0]["events"]}
    assert {"kev_ransomware", "new_critical"} <= events
    assert all(e["attempts"] == 3 for e in entries)
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON.replace(hour=13), sleep=sleeps.append)["sent"] == 0

    monkeypatch.setenv("RG_HOOK_SECRET", "not-the-secret")  # the receiver rejects the signature: no retry
    rules.rules[0].name = "hook2"
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON, sleep=sleeps.append)["failed"] >= 3
        assert "HTTP 401 after 1 attempts" in (log(s)[0]["detail"] or "")


def test_teams_and_slack_payloads() -> None:
    from radguard.integrations.notify import Channel, Event

    ev = [Event("new_critical:1", "new_critical", "critical", "S", "New critical: X", {})]
    slack = payload(Channel(type="slack", url="https://x"), "subject", ev)
    assert slack["text"] == "subject" and "New critical: X" in slack["blocks"][0]["text"]["text"]
    teams = payload(Channel(type="teams", url="https://x"), "subject", ev)
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["text"] for b in card["content"]["body"]] == ["subject", "New critical: X"]


def test_bad_rules_file_is_located(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"rules.yaml, rules.0.events"):
        load_rules(_rules(tmp_path, "rules:\n  - name: x\n    events: [nope]\n    channel: {type: slack, url: u}\n"))


def _seed_operations(db: Database) -> None:
    """A failed backup verification, a backup schedule failing 3 runs, an overdue drill, a silent sensor."""
    from datetime import date, timedelta

    from radguard.backup.sets import BackupSetSpec, upsert_set
    from radguard.db.models.sensors import Schedule, ScheduleRun, Sensor
    from radguard.response.drills import DrillDoc, plan_drill

    with db.transaction() as s:
        bset, _ = upsert_set(s, BackupSetSpec(name="pacs-nightly", protects="PACS", location="NAS", kind="local"))
        _verification(s, bset, NOON - timedelta(hours=6), missing=2)
        sched = Schedule(name="north-backup", kind="backup", site="NORTH", every_hours=24, params={},
                         next_run=NOON)
        s.add(sched)
        s.flush()
        for i in range(3):
            at = NOON - timedelta(days=3 - i)
            s.add(ScheduleRun(schedule_id=sched.id, started=at, finished=at, status="failed",
                              error="backup path /srv/backup is outside the sensor's scope"))
        plan_drill(s, DrillDoc(key="2026-11-functional", title="PACS restore", kind="functional",
                               playbook="ransomware-pacs", date=date(2026, 11, 20)))
        s.add(Sensor(id="north-1", site="NORTH", public_key="x" * 44, enrolled_at=NOON - timedelta(days=30),
                     last_seen=NOON - timedelta(days=3)))


def _verification(s: Any, bset: Any, at: datetime, missing: int) -> None:
    from radguard.backup.sets import store_verification

    store_verification(s, bset, dict(
        started_at=at, finished_at=at, complete=True, expected_instances=10, files_checked=10 - missing,
        counts={"ok": 10 - missing, "missing": missing}, ransom_notes=[], not_checked={}, bytes_read=1000,
        elapsed_seconds=1.0, throughput_bytes_per_s=1000.0, archive_bytes=1000, projected_restore_hours=1.0,
        rto_hours=4.0, rto_met=True, rpo_achieved_hours=None, rpo_hours=None, all_ok=missing == 0))


def test_operational_events_once_per_fact_by_site_and_severity(
        findings_db: Database, cert: tuple[Path, Path], tmp_path: Path,
        webhook: tuple[str, list[dict[str, Any]], list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Backup, drill, sensor and schedule facts reach a real HTTPS receiver once each; a new
    occurrence (another failed verification, a sensor silent again after reporting) is sent again."""
    from datetime import timedelta

    from radguard.backup.sets import get_set
    from radguard.db.models.sensors import Sensor

    url, received, _ = webhook
    monkeypatch.setenv("RG_HOOK_SECRET", "hook-secret")
    _seed_operations(findings_db)
    rules = load_rules(_rules(tmp_path, f"""
sensor_silent_hours: 24
rules:
  - name: ops
    events: [backup_failed, drill_overdue, sensor_silent, schedule_failing]
    channel: {{type: webhook, url: "{url}", secret_env: RG_HOOK_SECRET, ca_file: "{cert[0]}"}}
  - name: north-high
    events: [backup_failed, drill_overdue, sensor_silent, schedule_failing]
    sites: [NORTH]
    min_severity: high
    channel: {{type: webhook, url: "{url}", secret_env: RG_HOOK_SECRET, ca_file: "{cert[0]}"}}
"""))
    with findings_db.transaction() as s:
        counts = run(s, rules, now=NOON)
    kinds = sorted(e["event"] for m in received for e in m["events"])
    # ops: verification failed, backup could not run, schedule failing, drill overdue, sensor silent;
    # north-high: the NORTH events of severity high (backup could not run, sensor silent).
    assert counts == {"sent": 7, "failed": 0, "deferred": 0}
    assert kinds == sorted(["backup_failed", "backup_failed", "schedule_failing", "drill_overdue", "sensor_silent",
                            "backup_failed", "sensor_silent"])
    titles = [e["title"] for m in received for e in m["events"]]
    assert "Backup verification failed for pacs-nightly: 2 missing" in titles
    assert "Backup verification could not run: schedule north-backup" in titles
    assert any(t.startswith("Drill overdue: PACS restore (planned 2026-11-20)") for t in titles)
    assert any(t.startswith("Sensor north-1 silent since") for t in titles)
    assert not any(e["event"] == "drill_overdue" and e["site"] == "NORTH" for m in received for e in m["events"])

    received.clear()
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON + timedelta(hours=1))["sent"] == 0  # the same facts: nothing sent
        _verification(s, get_set(s, "pacs-nightly"), NOON + timedelta(hours=1), missing=1)
        s.get(Sensor, "north-1").last_seen = NOON + timedelta(hours=1)  # it reported: no longer silent
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON + timedelta(hours=2))["sent"] == 1
    assert [e["title"] for e in received[0]["events"]] == ["Backup verification failed for pacs-nightly: 1 missing"]
    received.clear()
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON + timedelta(days=2))["sent"] == 2  # silent again: a new fact
    assert [e["event"] for m in received for e in m["events"]] == ["sensor_silent", "sensor_silent"]


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_syslog_channel_rfc5424_cef(transport: str, findings_db: Database, cert: tuple[Path, Path], tmp_path: Path,
                                    listener: Callable[[str], tuple[int, list[str]]]) -> None:
    """A syslog rule sends one RFC 5424 message per new event to a real receiver, CEF parsed back."""
    port, received = listener(transport)
    rules = load_rules(_rules(tmp_path, f"""
rules:
  - name: siem
    events: [kev_ransomware, new_critical]
    mode: digest
    channel: {{type: syslog, url: "{transport}://127.0.0.1:{port}", ca_file: "{cert[0]}"}}
"""))
    with findings_db.transaction() as s:
        counts = run(s, rules, now=NOON)
        keys = {e.key for e in collect_events(s, NOON) if e.kind in ("kev_ransomware", "new_critical")}
    assert counts["sent"] == len(keys) >= 2 and counts["failed"] == 0
    wait_for(received, len(keys))
    assert len(received) == len(keys)
    parsed = []
    for message in received:
        m = SYSLOG.match(message)
        assert m, message
        assert m["msgid"] == "notify" and int(m["pri"]) == 20 * 8 + 2  # local4, crit
        parsed.append(parse_cef(m["msg"]))
    assert {ext["externalId"] for _, ext in parsed} == keys
    kev = [(h, e) for h, e in parsed if h[4] == "notify:kev_ransomware"]
    assert kev and kev[0][0][6] == "10" and kev[0][1]["cs1"] == "kev_ransomware"
    assert kev[0][1]["msg"].startswith("KEV-listed, ransomware-used:") and kev[0][1]["cn2"].isdigit()
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON.replace(day=5))["sent"] == 0  # nothing new, even a day later
    assert len(received) == len(keys)


def test_syslog_channel_unreachable_is_logged_and_bad_url_located(findings_db: Database, tmp_path: Path) -> None:
    closed = free_port()
    rules = load_rules(_rules(tmp_path, f"""
rules:
  - name: siem
    events: [new_critical]
    channel: {{type: syslog, url: "tcp://127.0.0.1:{closed}"}}
"""))
    with findings_db.transaction() as s:
        assert run(s, rules, now=NOON)["failed"] >= 1
        assert f"tcp://127.0.0.1:{closed}" in (log(s)[0]["detail"] or "")
    with pytest.raises(InputError) as err:
        load_rules(_rules(tmp_path, "rules:\n  - name: siem\n    channel: {type: syslog, url: 'syslog.example:514'}\n"))
    assert "rule siem" in str(err.value) and "channel.url" in str(err.value) and "udp://HOST:PORT" in str(err.value)

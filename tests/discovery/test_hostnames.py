"""Exclusions, do-not-scan assets and the scope hold whether a device is named by host name or
by address — each direction, proved with a listener that must see no connection at all.

Only ``localhost`` (from /etc/hosts) is resolved through the system; names that must *not*
resolve, or that resolve to several loopback addresses, go through an injected lookup so no
test ever sends a DNS query off the machine.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from radguard.db.session import Database
from radguard.discovery.run import DiscoveryRequest, execute, plan
from radguard.discovery.scope import authorize, load_scope
from radguard.discovery.targets import Exclusions, Resolver, Target, parse_target
from radguard.errors import SafetyError
from tests.support.peers import recording_listener

NOW = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
FAKE_DNS = {"pacs.test": ["127.0.0.1", "127.0.0.2"], "ct.test": ["127.0.0.1"]}


def fake_resolver() -> Resolver:
    """localhost as the system has it, two made-up names, and nothing else resolves."""
    return Resolver(lambda name: ["127.0.0.1"] if name == "localhost" else FAKE_DNS.get(name, []))


def _scan(db: Database, targets: list[str], port: int, *, exclude: list[str] | None = None,
          level: int = 2, scope: Path | None = None, resolver: Resolver | None = None) -> dict[str, Any]:
    request = DiscoveryRequest(targets=targets, ports=(port,), level=level, exclude=exclude or [], scope_file=scope)
    request.options.timeout = 1.0
    return execute(db, plan(db, request, NOW, resolver))


def _scope(tmp_path: Path, targets: str, exclude: str = "[]") -> Path:
    path = tmp_path / "scope.yaml"
    path.write_text(f"authorized_by: A. Person\nreason: CHG-7\nwindow: {{start: 2026-01-01T20:00:00Z, "
                    f"end: 2026-01-02T06:00:00Z}}\ntargets: {targets}\nexclude: {exclude}\nmax_level: 2\n")
    return path


def test_localhost_target_is_scanned_without_exclusion(sqlite_db: Database) -> None:
    """The positive control: the same scan without an exclusion does reach the listener."""
    with recording_listener("127.0.0.1") as rec:
        doc = _scan(sqlite_db, ["localhost"], rec.port)
    assert rec.connections >= 1 and rec.received  # a DICOM association request arrived
    assert [(e["host"], e["port"], e["state"]) for e in doc["endpoints"]] == [("localhost", rec.port, "open")]
    assert doc["skipped"] == []


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("rule", ["127.0.0.1", "127.0.0.0/30", "127.0.0.1-2", "127.0.0.1:{port}"])
def test_hostname_target_is_held_by_an_address_exclusion(sqlite_db: Database, level: int, rule: str) -> None:
    with recording_listener("127.0.0.1") as rec:
        spec = rule.format(port=rec.port)
        doc = _scan(sqlite_db, ["localhost"], rec.port, exclude=[spec], level=level)
    assert not rec.touched, f"{rec.connections} connections, {len(rec.received)} bytes reached an excluded host"
    assert doc["endpoints"] == []
    assert doc["skipped"] == [{"host": "localhost", "port": rec.port if ":" in spec else None,
                               "reason": f"excluded by --exclude {spec}"}]


@pytest.mark.parametrize("rule", ["localhost", "LOCALHOST.", "localhost:{port}"])
def test_address_and_cidr_targets_are_held_by_a_hostname_exclusion(sqlite_db: Database, rule: str) -> None:
    with recording_listener("127.0.0.1") as rec, recording_listener("127.0.0.2", rec.port) as other:
        spec = rule.format(port=rec.port)
        doc = _scan(sqlite_db, ["127.0.0.1", "127.0.0.0/30"], rec.port, exclude=[spec])
    assert not rec.touched
    assert other.touched  # 127.0.0.2 is not localhost: still scanned
    assert [(e["host"], e["state"]) for e in doc["endpoints"]] == [("127.0.0.2", "open")]
    assert [s["host"] for s in doc["skipped"]] == ["127.0.0.1"]


def test_hostname_target_is_held_when_any_of_its_addresses_is_excluded(sqlite_db: Database) -> None:
    """pacs.test has two addresses; excluding one of them keeps radguard off the name entirely."""
    with recording_listener("127.0.0.1") as one, recording_listener("127.0.0.2", one.port) as two:
        doc = _scan(sqlite_db, ["pacs.test"], one.port, exclude=["127.0.0.2"], resolver=fake_resolver())
    assert not one.touched and not two.touched
    assert doc["skipped"][0]["host"] == "pacs.test"


def _protected_inventory(tmp_path: Path, name: str, host: str, port: int) -> Path:
    """An inventory file with one modality tagged do-not-scan at ``host:port``."""
    path = tmp_path / "inventory.yaml"
    path.write_text(f"""\
format: radguard-inventory
version: 1
sites:
- {{code: MAIN, name: Main Hospital}}
assets:
- {{site: MAIN, name: {name}, class: modality, modality_type: US, tags: [do-not-scan],
   endpoints: [{{host: "{host}", port: {port}, protocol: dicom}}]}}
""")
    return path


def test_hostname_do_not_scan_asset_is_held_against_a_cidr_target(rg, sqlite_db: Database,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    with recording_listener("127.0.0.1") as rec:
        inventory = _protected_inventory(tmp_path, "FRAGILE-US", "localhost", rec.port)
        r = rg("--db", sqlite_db.url, "inventory", "import", inventory)
        assert r.code == 0, r.err
        r = rg("--db", sqlite_db.url, "discover", "127.0.0.0/30", "--ports", str(rec.port), "--timeout", "1",
               "--json")
    assert r.code == 0, r.err
    assert not rec.touched
    doc = json.loads(r.out)
    assert {"host": "127.0.0.1", "port": None,
            "reason": "inventory asset MAIN/FRAGILE-US is tagged do-not-scan"} in doc["skipped"]
    assert "127.0.0.1" not in {e["host"] for e in doc["endpoints"]}


def test_cli_reproduction_from_the_review(rg, sqlite_db: Database) -> None:  # type: ignore[no-untyped-def]
    with recording_listener("127.0.0.1") as rec:
        r = rg("--db", sqlite_db.url, "discover", "localhost", "--ports", str(rec.port), "--level", "1",
               "--exclude", "127.0.0.1", "--json")
    assert r.code == 0, r.err
    assert not rec.touched
    assert json.loads(r.out)["skipped"] == [{"host": "localhost", "port": None,
                                             "reason": "excluded by --exclude 127.0.0.1"}]


@pytest.mark.parametrize("source", ["--exclude", "scope", "inventory"])
def test_unresolvable_protected_name_refuses_the_scan(rg, sqlite_db: Database, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      source: str) -> None:
    """A name radguard cannot resolve could be any address: nothing starts, and it says which."""
    with recording_listener("127.0.0.1") as rec:
        exclude: list[str] = []
        scope = None
        if source == "--exclude":
            exclude = ["gone-ct.test"]
        elif source == "scope":
            scope = _scope(tmp_path, "[127.0.0.0/24]", "[gone-ct.test]")
        else:
            inventory = _protected_inventory(tmp_path, "OLD-CT", "gone-ct.test", 104)
            assert rg("--db", sqlite_db.url, "inventory", "import", inventory).code == 0
        with pytest.raises(SafetyError) as info:
            _scan(sqlite_db, ["127.0.0.1"], rec.port, exclude=exclude, scope=scope, resolver=fake_resolver())
    assert not rec.touched
    assert "'gone-ct.test'" in str(info.value) and "does not resolve" in str(info.value)
    assert "'127.0.0.1'" in str(info.value)


def test_unresolvable_protected_name_on_another_port_does_not_block(sqlite_db: Database) -> None:
    with recording_listener("127.0.0.1") as rec:
        doc = _scan(sqlite_db, ["127.0.0.1"], rec.port, exclude=[f"gone-ct.test:{rec.port + 1}"],
                    resolver=fake_resolver())
    assert rec.touched and doc["endpoints"][0]["state"] == "open"


def test_unresolvable_target_is_skipped_not_contacted(sqlite_db: Database) -> None:
    with recording_listener("127.0.0.1") as rec:
        doc = _scan(sqlite_db, ["nowhere.test", "localhost"], rec.port, resolver=fake_resolver())
    assert [e["host"] for e in doc["endpoints"]] == ["localhost"]
    assert doc["skipped"] == [{"host": "nowhere.test", "port": None,
                               "reason": "the host name does not resolve; nothing was sent"}]


def test_scope_covers_by_address_and_by_name(tmp_path: Path) -> None:
    resolver = fake_resolver()

    def check(scope_targets: str, target: str) -> None:
        scope = load_scope(_scope(tmp_path, scope_targets))
        authorize(scope, 2, [parse_target(target)], NOW, resolver)

    check("[127.0.0.0/24]", "localhost")           # a name inside an authorized network
    check("[127.0.0.0/24]", "pacs.test:104")       # every one of its addresses is inside
    check("[127.0.0.1, 127.0.0.2]", "pacs.test")   # ... possibly in different entries
    check("[localhost]", "127.0.0.1")              # an address the authorized name resolves to
    check("[pacs.test]", "127.0.0.1-2")            # a range that is exactly the name's addresses
    check("['localhost:104']", "127.0.0.1:104")
    check("[nowhere.test]", "NOWHERE.test.")       # the same name, even when it does not resolve
    refusals = [
        ("[127.0.1.0/24]", "localhost", "'localhost' is not covered"),
        ("[127.0.0.1/32]", "pacs.test", "'pacs.test' is not covered"),   # 127.0.0.2 is outside
        ("[localhost]", "127.0.0.0/30", "'127.0.0.0/30' is not covered"),
        ("['localhost:104']", "127.0.0.1", "'127.0.0.1' is not covered"),  # one port, not the host
        ("[127.0.0.0/24]", "nowhere.test", "'nowhere.test' is not covered by the scope's targets "
                                           "(127.0.0.0/24) and its host name does not resolve"),
    ]
    for scope_targets, target, message in refusals:
        with pytest.raises(SafetyError, match=re.escape(message)):
            check(scope_targets, target)


def test_scope_refusal_by_address_sends_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    with recording_listener("127.0.0.1") as rec:
        with pytest.raises(SafetyError, match="'localhost' is not covered"):
            _scan(sqlite_db, ["localhost"], rec.port, scope=_scope(tmp_path, "[127.0.1.0/24]"))
        doc = _scan(sqlite_db, ["localhost"], rec.port, scope=_scope(tmp_path, "[127.0.0.1/32]"))
    assert rec.touched and doc["endpoints"][0]["host"] == "localhost"


def test_scope_exclude_by_name_holds_an_address_target(sqlite_db: Database, tmp_path: Path) -> None:
    with recording_listener("127.0.0.1") as rec:
        doc = _scan(sqlite_db, ["127.0.0.0/30"], rec.port, scope=_scope(tmp_path, "[127.0.0.0/24]", "[localhost]"))
    assert not rec.touched
    assert {"host": "127.0.0.1", "port": None, "reason": "excluded by the scope file (localhost)"} in doc["skipped"]


def test_exclusions_resolve_each_name_once() -> None:
    calls: list[str] = []

    def lookup(name: str) -> list[str]:
        calls.append(name)
        return FAKE_DNS.get(name, [])

    ex = Exclusions(Resolver(lookup))
    ex.add(parse_target("pacs.test"), "by name")
    for host in ("127.0.0.1", "127.0.0.2", "ct.test", "ct.test", "127.0.0.3"):
        ex.reason(host, 104)
    assert ex.reason("127.0.0.2", 104) == "by name" and ex.reason("ct.test", 11112) == "by name"
    assert ex.reason("127.0.0.3", 104) is None
    assert sorted(calls) == ["ct.test", "pacs.test"]


def test_ipv6_literals_as_targets_exclusions_and_do_not_scan_endpoints(rg, sqlite_db: Database,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    """An IPv6 endpoint on a do-not-scan asset used to make every scan fail as bad input."""
    with recording_listener("::1") as six, recording_listener("127.0.0.1") as four:
        inventory = _protected_inventory(tmp_path, "OLD-MR", "0:0:0:0:0:0:0:1", six.port)
        assert rg("--db", sqlite_db.url, "inventory", "import", inventory).code == 0
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.1:{four.port}", "--level", "1", "--json")
        assert r.code == 0, r.err
        assert json.loads(r.out)["endpoints"][0]["state"] == "open" and four.touched
        # The same address written another way is still the protected one.
        r = rg("--db", sqlite_db.url, "discover", f"[::1]:{six.port}", "--level", "1", "--json")
        assert r.code == 0, r.err
        assert not six.touched
        assert json.loads(r.out)["skipped"] == [
            {"host": "::1", "port": None, "reason": "inventory asset MAIN/OLD-MR is tagged do-not-scan"}]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert rg("--db", other, "init").code == 0
    with recording_listener("::1") as six:
        r = rg("--db", other, "discover", f"[::1]:{six.port}", "--level", "1",
               "--json")
        assert r.code == 0, r.err  # another database: no do-not-scan asset there
        [endpoint] = json.loads(r.out)["endpoints"]
        assert endpoint["host"] == "::1" and endpoint["state"] == "open" and six.touched
    r = rg("--db", sqlite_db.url, "discover", "2001:db8::/64")
    assert r.code == 2 and "IPv6 networks cannot be swept" in r.err


def test_ipv4_mapped_ipv6_is_the_ipv4_host(rg, sqlite_db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """::ffff:127.0.0.1 reaches 127.0.0.1, so rules written either way must hold (review finding)."""
    assert parse_target("[::ffff:10.0.0.1]:104") == Target("[::ffff:10.0.0.1]:104", 167772161, 167772161, None, 104)
    with recording_listener("127.0.0.1") as rec:
        inventory = _protected_inventory(tmp_path, "OLD-CT", "127.0.0.1", rec.port)
        assert rg("--db", sqlite_db.url, "inventory", "import", inventory).code == 0
        r = rg("--db", sqlite_db.url, "discover", f"[::ffff:127.0.0.1]:{rec.port}", "--level", "1", "--json")
        assert r.code == 0, r.err
        assert not rec.touched and json.loads(r.out)["skipped"][0]["reason"].endswith("is tagged do-not-scan")
    with recording_listener("127.0.0.1") as rec:
        inventory = _protected_inventory(tmp_path, "OLD-CT", "::ffff:127.0.0.1", rec.port)
        assert rg("--db", sqlite_db.url, "inventory", "import", inventory).code == 0
        r = rg("--db", sqlite_db.url, "discover", f"127.0.0.1:{rec.port}", "--level", "1", "--json")
        assert r.code == 0, r.err
        assert not rec.touched and json.loads(r.out)["skipped"]
    r = rg("--db", sqlite_db.url, "discover", "fe80::1%eth0")
    assert r.code == 2 and "with a zone" in r.err

"""Turning a capture's facts into evidence (source passive), unconfirmed assets and data flows.

Facts are folded as they stream in, keyed by peers rather than by packet, so memory grows with
the number of distinct conversations, not with the capture. Evidence kinds: ``passive.dicom``
(per client, server, port and AE pair), ``passive.hl7`` and ``passive.http`` (per client and
server endpoint), ``passive.flow`` (per protocol, client, server and server port). The Scan row
has level 0 (nothing was sent) and ``options.mode = "passive"``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import DataFlow
from radguard.discovery.engine import Probed
from radguard.discovery.fingerprints import dicom_product
from radguard.discovery.merge import Merger
from radguard.discovery.results import DicomDoc, EndpointDoc
from radguard.passive.reader import ReadStats, read_capture

SOURCE = "radguard passive import"
_COMMANDS = {0x0001: "C-STORE", 0x0020: "C-FIND", 0x0021: "C-MOVE", 0x0010: "C-GET", 0x0030: "C-ECHO"}


def _ts(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat()


class Folder:
    """Accumulates facts into per-conversation summaries."""

    def __init__(self) -> None:
        self.streams: dict[str, tuple[str, str, int]] = {}  # stream id -> (client, server, port)
        self.service: dict[str, str] = {}
        self.dicom: dict[tuple[str, str, int, str, str], dict[str, Any]] = {}
        self.assoc_of: dict[str, tuple[str, str, int, str, str]] = {}
        self.hl7: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.http: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.tls: dict[str, tuple[int | None, int | None]] = {}
        self.flows: dict[tuple[str, str, str, int], dict[str, Any]] = {}

    def add(self, fact: dict[str, Any]) -> None:
        kind, sid = fact["t"], fact["id"] or "?"
        if kind == "dicom":
            rq = fact["pdu"] == 1
            client, server, port = ((fact["src"], fact["dst"], fact["dst_port"]) if rq
                                    else (fact["dst"], fact["src"], fact["src_port"]))
            key = (client, server, port, fact["calling"] or "", fact["called"] or "")
            if fact["pdu"] in (1, 2, 3):
                self.assoc_of[sid] = key
            key = self.assoc_of.get(sid, key)
            self.service[sid] = "dicom"
            doc = self.dicom.setdefault(key, {"associations": 0, "accepted": 0, "rejected": 0, "aborted": 0,
                                              "proposed": set(), "accepted_sop_classes": set(), "ctx": {},
                                              "commands": Counter(), "move_destinations": set(),
                                              "requestor": None, "acceptor": None, "reject": None,
                                              "first": fact["time"], "last": fact["time"]})
            doc["last"] = max(doc["last"], fact["time"])
            side = {"implementation_class_uid": fact["uid"], "implementation_version_name": fact["version"]}
            if fact["pdu"] == 1:
                doc["associations"] += 1
                doc["requestor"] = side
                for ctx in fact["contexts"]:
                    if ctx["abstract"]:
                        doc["proposed"].add(ctx["abstract"])
                        doc["ctx"][(sid, ctx["id"])] = ctx["abstract"]
            elif fact["pdu"] == 2:
                doc["accepted"] += 1
                doc["acceptor"] = side
                for ctx in fact["contexts"]:
                    uid = doc["ctx"].pop((sid, ctx["id"]), None)
                    if ctx["result"] == 0 and uid:
                        doc["accepted_sop_classes"].add(uid)
            elif fact["pdu"] == 3:
                doc["rejected"] += 1
                doc["reject"] = {"result": fact["reject_result"], "source": fact["reject_source"],
                                 "reason": fact["reject_reason"]}
            else:
                doc["aborted"] += 1
        elif kind == "dimse" and sid in self.assoc_of:
            doc = self.dicom[self.assoc_of[sid]]
            command = fact["command"]
            if command is not None and not command & 0x8000:  # requests only
                doc["commands"][_COMMANDS.get(command, f"0x{command:04x}")] += 1
            if fact["move_destination"]:
                doc["move_destinations"].add(fact["move_destination"])
        elif kind == "hl7":
            self.service[sid] = "hl7-mllp"
            rec = self.hl7.setdefault((fact["src"], fact["dst"], fact["dst_port"]),
                                      {"messages": Counter(), "sending_application": None,
                                       "sending_facility": None, "receiving_application": None,
                                       "receiving_facility": None})
            rec["messages"][f"{fact['type']}^{fact['event']}" if fact["event"] else str(fact["type"])] += 1
            for name, k in (("sending_application", "msh3"), ("sending_facility", "msh4"),
                            ("receiving_application", "msh5"), ("receiving_facility", "msh6")):
                rec[name] = rec[name] or fact[k]
        elif kind == "http":
            self.service.setdefault(sid, "http")
            hkey = (fact["src"], fact["dst"], fact["dst_port"]) if fact["request"] else \
                (fact["dst"], fact["src"], fact["src_port"])
            rec = self.http.setdefault(hkey, {"requests": 0, "hosts": set(), "server": None,
                                             "authorization_seen": False, "cookie_seen": False})
            if fact["request"]:
                rec["requests"] += 1
                if fact["host"] and len(rec["hosts"]) < 16:
                    rec["hosts"].add(fact["host"])
            rec["server"] = rec["server"] or fact["server"]
            rec["authorization_seen"] |= fact["authorization"]
            rec["cookie_seen"] |= fact["cookie"]
        elif kind == "tls":
            self.tls[sid] = (fact["version"], fact["cipher"])
        elif kind == "flow":
            fkey = (fact["proto"], fact["client"], fact["server"], fact["server_port"])
            rec = self.flows.setdefault(fkey, {"connections": 0, "packets": 0, "client_bytes": 0, "server_bytes": 0,
                                              "first": fact["first"], "last": fact["last"], "tls": False,
                                              "service": None, "tls_version": None, "tls_cipher": None})
            rec["connections"] += 1
            for k in ("packets", "client_bytes", "server_bytes"):
                rec[k] += fact[k]
            rec["first"], rec["last"] = min(rec["first"], fact["first"]), max(rec["last"], fact["last"])
            rec["tls"] |= fact["tls"]
            rec["service"] = rec["service"] or self.service.get(sid)
            if sid in self.tls:
                rec["tls_version"], rec["tls_cipher"] = self.tls[sid]


def _dicom_doc(key: tuple[str, str, int, str, str], doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"client": key[0], "server": key[1], "server_port": key[2], "calling_ae": key[3],
                           "called_ae": key[4]}
    for side in ("requestor", "acceptor"):
        fp = doc[side]
        if fp is not None:
            product, version = dicom_product(fp["implementation_class_uid"], fp["implementation_version_name"])
            fp = {**fp, "product": product, "version": version}
        out[side] = fp
    out.update({k: doc[k] for k in ("associations", "accepted", "rejected", "aborted", "reject")})
    out.update(proposed=sorted(doc["proposed"]), accepted_sop_classes=sorted(doc["accepted_sop_classes"]),
               commands=dict(sorted(doc["commands"].items())), move_destinations=sorted(doc["move_destinations"]),
               first_seen=_ts(doc["first"]), last_seen=_ts(doc["last"]))
    return out


def import_capture(session: Session, path: Path, hl7_ports: tuple[int, ...], site_code: str | None) -> dict[str, Any]:
    """Read one capture and store everything in the caller's transaction; return the summary."""
    stats = ReadStats()
    folder = Folder()
    for fact in read_capture(path, hl7_ports, stats):
        folder.add(fact)
    now = datetime.now(UTC)
    scan = Scan(started=now, finished=now, level=0, targets=[path.name], authorized_by=None,
                reason="passive capture import", options={"mode": "passive", "capture": path.name,
                                                          "hl7_ports": list(hl7_ports)})
    session.add(scan)
    session.flush()
    servers: dict[tuple[str, int], EndpointDoc] = {}
    for key, doc in folder.dicom.items():
        acc = doc["acceptor"] or {}
        product, version = dicom_product(acc.get("implementation_class_uid"), acc.get("implementation_version_name"))
        servers[(key[1], key[2])] = EndpointDoc(host=key[1], port=key[2], state="open", service="dicom", dicom=DicomDoc(
            implementation_class_uid=acc.get("implementation_class_uid"),
            implementation_version_name=acc.get("implementation_version_name"), product=product, version=version))
    for (_, server, port) in folder.hl7:
        servers.setdefault((server, port), EndpointDoc(host=server, port=port, state="open", service="hl7-mllp"))
    hosts = {h for k in servers for h in (k[0],)} | {f[1] for f in folder.flows}
    merger = Merger(session, site_code, now, hosts)
    owners = {k: merger.merge(Probed(doc, {"passive": True})) for k, doc in servers.items()}
    session.flush()
    for asset in owners.values():
        if asset is not None and not asset.confirmed:
            asset.attributes = {**(asset.attributes or {}), "discovered_by": "passive"}

    def add(kind: str, host: str, port: int | None, received: dict[str, Any]) -> None:
        owner = owners.get((host, port)) if port is not None else None
        session.add(Evidence(kind=kind, asset_id=owner.id if owner is not None else None, scan_id=scan.id, host=host,
                             port=port, safety_level=0, sent={"passive": True}, received=received,
                             source=f"{SOURCE} {path.name}", collected_at=now))

    for key, doc in folder.dicom.items():
        add("passive.dicom", key[1], key[2], _dicom_doc(key, doc))
    for (client, server, port), rec in folder.hl7.items():
        add("passive.hl7", server, port, {"client": client, "server": server, "server_port": port,
                                          **{k: v for k, v in rec.items() if k != "messages"},
                                          "messages": dict(sorted(rec["messages"].items()))})
    for (client, server, port), rec in folder.http.items():
        add("passive.http", server, port, {"client": client, "server": server, "server_port": port,
                                           **rec, "hosts": sorted(rec["hosts"])})
    flows_added = 0
    by_host = {h: a for (h, _), a in owners.items() if a is not None}
    for (proto, client, server, port), rec in folder.flows.items():
        add("passive.flow", server, port, {"proto": proto, "client": client, "server": server, "server_port": port,
                                           **{k: v for k, v in rec.items() if k not in ("first", "last")},
                                           "first_seen": _ts(rec["first"]), "last_seen": _ts(rec["last"])})
        src, dst = by_host.get(client), owners.get((server, port))
        if src is None or dst is None or src.id == dst.id or rec["service"] is None:
            continue
        protocol = "dicom-tls" if rec["service"] == "dicom" and rec["tls"] else rec["service"]
        flow = session.scalar(select(DataFlow).where(DataFlow.source_asset_id == src.id,
                                                     DataFlow.target_asset_id == dst.id,
                                                     DataFlow.protocol == protocol))
        first, last = datetime.fromtimestamp(rec["first"], UTC), datetime.fromtimestamp(rec["last"], UTC)
        if flow is None:
            flow = DataFlow(source_asset_id=src.id, target_asset_id=dst.id, protocol=protocol, carries_phi=True,
                            source="passive", first_seen=first, last_seen=last, description="observed in traffic")
            session.add(flow)
            flows_added += 1
        else:
            flow.first_seen = min(flow.first_seen or first, first)
            flow.last_seen = max(flow.last_seen or last, last)
    counts = {"facts": stats.facts, "invalid_lines": stats.invalid, "oversized_lines": stats.oversized,
              "dicom_conversations": len(folder.dicom), "hl7_conversations": len(folder.hl7),
              "http_conversations": len(folder.http), "flows": len(folder.flows),
              "assets_created": merger.summary.assets_created, "assets_matched": merger.summary.assets_matched,
              "data_flows_added": flows_added, "warnings": stats.warnings}
    scan.counts = counts
    session.flush()
    return {"scan": scan.id, "capture": path.name, "counts": counts, "created": merger.summary.created}

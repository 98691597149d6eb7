"""Turning a capture's facts into evidence (source passive), unconfirmed assets and data flows.

Facts are folded as they stream in, keyed by peers rather than by packet, so memory grows with
the number of distinct conversations, not with the capture. Evidence kinds: ``passive.dicom``
(per client, server, port and AE pair), ``passive.hl7`` and ``passive.http`` (per client and
server endpoint), ``passive.flow`` (per protocol, client, server and server port). The Scan row
has level 0 (nothing was sent) and ``options.mode = "passive"``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
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
from radguard.discovery.tls import RECORD_VERSIONS
from radguard.passive.reader import ReadStats, read_capture

SOURCE = "radguard passive import"
_COMMANDS = {0x0001: "C-STORE", 0x0020: "C-FIND", 0x0021: "C-MOVE", 0x0010: "C-GET", 0x0030: "C-ECHO"}


def _ts(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat()


class Folder:
    """Accumulates facts into per-conversation summaries.

    HL7 messages are kept per TCP stream until the stream's flow fact (written by the tap at the
    end) says who opened the connection: an ACK travels from the receiver back to the
    initiator, so orienting by packet direction alone would swap sender and receiver.
    """

    def __init__(self) -> None:
        # stream id -> (client, client port, server, server port), from the flow facts
        self.streams: dict[str, tuple[str, int, str, int]] = {}
        self.service: dict[str, str] = {}
        self.dicom: dict[tuple[str, str, int, str, str], dict[str, Any]] = {}
        self.assoc_of: dict[str, tuple[str, str, int, str, str]] = {}
        # stream id -> (src, src port, dst, dst port, MSH-3, MSH-4, MSH-5, MSH-6, type) -> count
        self.hl7_streams: dict[str, Counter[tuple[Any, ...]]] = {}
        self.hl7: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.http: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.tls: dict[str, tuple[str | None, str | None]] = {}
        self.flows: dict[tuple[str, str, str, int], dict[str, Any]] = {}

    def add(self, fact: dict[str, Any]) -> None:
        kind, sid = fact["t"], fact["id"] or "?"
        if kind == "dicom":
            self._dicom(sid, fact)
        elif kind == "dimse" and sid in self.assoc_of:
            doc = self.dicom[self.assoc_of[sid]]
            command = fact["command"]
            if command is not None and not command & 0x8000:  # requests only
                doc["commands"][_COMMANDS.get(command, f"0x{command:04x}")] += 1
            if fact["move_destination"] and len(doc["move_destinations"]) < 64:
                doc["move_destinations"].add(fact["move_destination"])
        elif kind == "hl7":
            self.service[sid] = "hl7-mllp"
            message = f"{fact['type']}^{fact['event']}" if fact["event"] else str(fact["type"])
            counter = self.hl7_streams.setdefault(sid, Counter())
            if len(counter) < 256:
                counter[(fact["src"], fact["src_port"], fact["dst"], fact["dst_port"], fact["msh3"], fact["msh4"],
                         fact["msh5"], fact["msh6"], message)] += 1
        elif kind == "http":
            self.service.setdefault(sid, "http")
            hkey = (fact["src"], fact["dst"], fact["dst_port"]) if fact["request"] else \
                (fact["dst"], fact["src"], fact["src_port"])
            rec = self.http.setdefault(hkey, {"requests": 0, "hosts": set(), "server_banner": None,
                                             "authorization_seen": False, "cookie_seen": False})
            if fact["request"]:
                rec["requests"] += 1
                if fact["host"] and len(rec["hosts"]) < 16:
                    rec["hosts"].add(fact["host"])
            rec["server_banner"] = rec["server_banner"] or fact["server"]
            rec["authorization_seen"] |= fact["authorization"]
            rec["cookie_seen"] |= fact["cookie"]
        elif kind == "tls":
            version = RECORD_VERSIONS.get(fact["version"]) if fact["version"] is not None else None
            cipher = fact["cipher_name"] or (f"0x{fact['cipher']:04x}" if fact["cipher"] is not None else None)
            self.tls[sid] = (version, cipher)
        elif kind == "flow":
            self.streams[sid] = (fact["client"], fact["client_port"], fact["server"], fact["server_port"])
            fkey = (fact["proto"], fact["client"], fact["server"], fact["server_port"])
            rec = self.flows.setdefault(fkey, {"connections": 0, "packets": 0, "client_bytes": 0, "server_bytes": 0,
                                              "first": fact["first"], "last": fact["last"], "tls": False,
                                              "service": None, "tls_version": None, "tls_cipher": None})
            rec["connections"] += 1
            for k in ("packets", "client_bytes", "server_bytes"):
                rec[k] += fact[k]
            rec["first"], rec["last"] = min(rec["first"], fact["first"]), max(rec["last"], fact["last"])
            rec["tls"] |= fact["tls"]
            rec["service"] = rec["service"] or self.service.get(sid) or (
                "dicom-tls" if fact["tls"] and fact["server_port"] == 2762 else "tls" if fact["tls"] else None)
            if sid in self.tls:
                rec["tls_version"], rec["tls_cipher"] = self.tls[sid]

    def _dicom(self, sid: str, fact: dict[str, Any]) -> None:
        rq = fact["pdu"] == 1
        client, server, port = ((fact["src"], fact["dst"], fact["dst_port"]) if rq
                                else (fact["dst"], fact["src"], fact["src_port"]))
        key = (client, server, port, fact["calling"] or "", fact["called"] or "")
        if fact["pdu"] == 1 or (fact["pdu"] in (2, 3) and sid not in self.assoc_of):
            self.assoc_of[sid] = key
        key = self.assoc_of.get(sid, key)
        self.service[sid] = "dicom"
        doc = self.dicom.setdefault(key, {"associations": 0, "accepted": 0, "rejected": 0, "aborted": 0,
                                          "proposed": set(), "accepted_sop_classes": set(), "ctx": {},
                                          "commands": Counter(), "move_destinations": set(),
                                          "requestor": None, "acceptor": None, "reject": None,
                                          "first": fact["time"], "last": fact["time"]})
        doc["first"], doc["last"] = min(doc["first"], fact["time"]), max(doc["last"], fact["time"])
        side = {"implementation_class_uid": fact["uid"], "implementation_version_name": fact["version"]}
        if fact["pdu"] == 1:
            doc["associations"] += 1
            doc["requestor"] = side
            for ctx in fact["contexts"]:
                if ctx["abstract"]:
                    doc["proposed"].add(ctx["abstract"])
                    if len(doc["ctx"]) < 4096:
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

    def finish(self) -> None:
        """Orient the HL7 conversations once every stream's initiator is known.

        The connection's initiator (from the flow fact, i.e. the SYN) is the client. A message the
        client sent names the client's application in MSH-3/4 and the server's in MSH-5/6; a
        message the server sent (an ACK) names them the other way round. Without a flow fact (a
        capture cut before the tap's end) a non-ACK message's sender is taken as the client.
        """
        for sid, counter in self.hl7_streams.items():
            if sid in self.streams:
                client, client_port, server, server_port = self.streams[sid]
            else:
                first = next((k for k in counter if not str(k[8]).startswith("ACK")), next(iter(counter)))
                if str(first[8]).startswith("ACK"):
                    client, client_port, server, server_port = first[2], first[3], first[0], first[1]
                else:
                    client, client_port, server, server_port = first[0], first[1], first[2], first[3]
            rec = self.hl7.setdefault((client, server, server_port), {
                "messages": Counter(), "replies": Counter(), "sending_application": None,
                "sending_facility": None, "receiving_application": None, "receiving_facility": None})
            for (src, src_port, _dst, _dport, msh3, msh4, msh5, msh6, message), n in counter.items():
                from_client = (src, src_port) == (client, client_port)
                mine, theirs = ((msh3, msh4), (msh5, msh6)) if from_client else ((msh5, msh6), (msh3, msh4))
                rec["messages" if from_client else "replies"][message] += n
                rec["sending_application"] = rec["sending_application"] or mine[0]
                rec["sending_facility"] = rec["sending_facility"] or mine[1]
                rec["receiving_application"] = rec["receiving_application"] or theirs[0]
                rec["receiving_facility"] = rec["receiving_facility"] or theirs[1]
        self.hl7_streams.clear()


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


def import_capture(session: Session, path: Path, hl7_ports: tuple[int, ...], site_code: str | None,
                   *, label: str | None = None, engine: str = "auto") -> dict[str, Any]:
    """Read one capture and store everything in the caller's transaction; return the summary.

    ``label`` names the capture in the scan and evidence (default: the file name), e.g.
    ``live lo 10 s`` for ``radguard passive capture``. ``engine``: see
    :func:`radguard.passive.reader.read_capture` (``tshark`` only for comparisons).
    """
    stats = ReadStats()
    folder = Folder()
    for fact in read_capture(path, hl7_ports, stats, engine=engine):
        folder.add(fact)
    folder.finish()
    name = label or path.name
    now = datetime.now(UTC)
    scan = Scan(started=now, finished=now, level=0, targets=[name], authorized_by=None,
                reason="passive capture import", options={"mode": "passive", "capture": name,
                                                          "hl7_ports": list(hl7_ports)})
    session.add(scan)
    session.flush()
    servers: dict[tuple[str, int], EndpointDoc] = {}
    for key, doc in folder.dicom.items():
        if doc["acceptor"] is None and (key[1], key[2]) in servers:
            continue  # a rejected association says less than an accepted one to the same port
        acc = doc["acceptor"] or {}
        product, version = dicom_product(acc.get("implementation_class_uid"), acc.get("implementation_version_name"))
        servers[(key[1], key[2])] = EndpointDoc(host=key[1], port=key[2], state="open", service="dicom", dicom=DicomDoc(
            implementation_class_uid=acc.get("implementation_class_uid"),
            implementation_version_name=acc.get("implementation_version_name"), product=product, version=version))
    for (_, server, port) in folder.hl7:
        servers.setdefault((server, port), EndpointDoc(host=server, port=port, state="open", service="hl7-mllp"))
    # Hosts seen only as DICOM requestors or HL7 senders, with the requestor's fingerprint.
    clients: dict[str, tuple[str | None, str | None]] = {}
    for key, doc in folder.dicom.items():
        req = doc["requestor"] or {}
        fp = dicom_product(req.get("implementation_class_uid"), req.get("implementation_version_name"))
        if clients.get(key[0], (None, None))[0] is None:
            clients[key[0]] = fp
    for (client, _, _) in folder.hl7:
        clients.setdefault(client, (None, None))
    hosts = {k[0] for k in servers} | set(clients) | {f[1] for f in folder.flows} | {f[2] for f in folder.flows}
    merger = Merger(session, site_code, now, hosts)
    owners = {k: merger.merge(Probed(doc, {"passive": True})) for k, doc in servers.items()}
    by_host = {h: a for (h, _), a in owners.items() if a is not None}
    for host, (product, version) in sorted(clients.items()):
        if host not in by_host:
            by_host[host] = merger.merge_host(host, product, version)
    session.flush()
    for asset in {id(a): a for a in by_host.values()}.values():
        if not asset.confirmed:
            asset.attributes = {**(asset.attributes or {}), "discovered_by": "passive"}

    def add(kind: str, host: str, port: int | None, received: dict[str, Any]) -> None:
        owner = owners.get((host, port)) if port is not None else None
        session.add(Evidence(kind=kind, asset_id=owner.id if owner is not None else None, scan_id=scan.id, host=host,
                             port=port, safety_level=0, sent={"passive": True}, received=received,
                             source=f"{SOURCE} {name}", collected_at=now))

    for key, doc in folder.dicom.items():
        add("passive.dicom", key[1], key[2], _dicom_doc(key, doc))
    for (client, server, port), rec in folder.hl7.items():
        add("passive.hl7", server, port, {"client": client, "server": server, "server_port": port,
                                          **{k: v for k, v in rec.items() if k not in ("messages", "replies")},
                                          "messages": dict(sorted(rec["messages"].items())),
                                          "replies": dict(sorted(rec["replies"].items()))})
    for (client, server, port), rec in folder.http.items():
        add("passive.http", server, port, {"client": client, "server": server, "server_port": port,
                                           **rec, "hosts": sorted(rec["hosts"])})
    flows_added = 0
    for (proto, client, server, port), rec in folder.flows.items():
        add("passive.flow", server, port, {"proto": proto, "client": client, "server": server, "server_port": port,
                                           **{k: v for k, v in rec.items() if k not in ("first", "last")},
                                           "first_seen": _ts(rec["first"]), "last_seen": _ts(rec["last"])})
        src, dst = by_host.get(client), owners.get((server, port))
        if src is None or dst is None or src.id == dst.id or rec["service"] not in _FLOW_PROTOCOLS:
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
            session.flush()
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
    return {"scan": scan.id, "capture": name, "counts": counts, "created": merger.summary.created}


_FLOW_PROTOCOLS = {"dicom", "dicom-tls", "hl7-mllp", "http"}
FLOW_KIND = "passive.flow"
EVIDENCE_KINDS = ("passive.dicom", "passive.hl7", "passive.http", FLOW_KIND)


@dataclass(frozen=True)
class ObservedFlow:
    """One conversation pattern seen on the wire, summed over every passive scan read.

    ``service`` is what radguard recognised (``dicom``, ``hl7-mllp``, ``http``, ``tls``,
    ``dicom-tls`` on port 2762, or None); ``client_asset_id``/``server_asset_id`` are the
    inventory assets holding those addresses (None: not in the inventory).
    """

    proto: str
    client: str
    server: str
    server_port: int
    service: str | None
    tls: bool
    connections: int
    packets: int
    client_bytes: int
    server_bytes: int
    first_seen: datetime
    last_seen: datetime
    client_asset_id: int | None
    server_asset_id: int | None
    # Where it was seen: ``capture`` (a packet capture), ``netflow`` or ``csv`` (flow logs).
    origins: tuple[str, ...] = ("capture",)
    evidence_ids: tuple[int, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.client} → {self.server}:{self.server_port}/{self.proto}"

    def cite(self) -> dict[str, Any]:
        """The flow as a finding's evidence (addresses, counts, times, where it was seen)."""
        return {"flow": self.where, "proto": self.proto, "client": self.client, "server": self.server,
                "server_port": self.server_port, "service": self.service, "tls": self.tls,
                "connections": self.connections, "bytes": self.client_bytes + self.server_bytes,
                "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "seen_in": list(self.origins), "evidence_ids": list(self.evidence_ids[:20])}


def observed_flows(session: Session, *, scan_id: int | None = None, since: datetime | None = None
                   ) -> list[ObservedFlow]:
    """Every flow passive capture observed (the owner's read side of ``passive.flow`` evidence).

    :param scan_id: only this passive scan (default: all of them, summed per flow).
    :param since: only evidence collected at or after this time.
    Returned in a stable order (server, port, client, protocol). Segmentation checks, flow maps
    and reports call this rather than querying the evidence table.
    """
    from radguard.db.models.inventory import Endpoint

    query = select(Evidence.id, Evidence.received).where(Evidence.kind == FLOW_KIND).order_by(Evidence.id)
    if scan_id is not None:
        query = query.where(Evidence.scan_id == scan_id)
    if since is not None:
        query = query.where(Evidence.collected_at >= since)
    merged: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for eid, doc in session.execute(query):
        key = (doc["proto"], doc["client"], doc["server"], int(doc["server_port"]))
        first, last = datetime.fromisoformat(doc["first_seen"]), datetime.fromisoformat(doc["last_seen"])
        rec = merged.get(key)
        if rec is None:
            merged[key] = {**{k: doc.get(k) or 0 for k in ("connections", "packets", "client_bytes", "server_bytes")},
                           "service": doc.get("service"), "tls": bool(doc.get("tls")), "first": first, "last": last,
                           "origins": {str(doc.get("origin") or "capture")}, "ids": [int(eid)]}
            continue
        rec["origins"].add(str(doc.get("origin") or "capture"))
        rec["ids"].append(int(eid))
        for k in ("connections", "packets", "client_bytes", "server_bytes"):
            rec[k] += doc.get(k) or 0
        rec["service"] = rec["service"] or doc.get("service")
        rec["tls"] |= bool(doc.get("tls"))
        rec["first"], rec["last"] = min(rec["first"], first), max(rec["last"], last)
    hosts = sorted({k[1] for k in merged} | {k[2] for k in merged})
    by_endpoint: dict[tuple[str, int], int] = {}
    by_host: dict[str, int] = {}
    for start in range(0, len(hosts), 500):
        rows = session.execute(select(Endpoint.host, Endpoint.port, Endpoint.asset_id)
                               .where(Endpoint.host.in_(hosts[start:start + 500])).order_by(Endpoint.id)).all()
        for host, port, asset_id in rows:
            by_endpoint.setdefault((host, port), asset_id)
            by_host.setdefault(host, asset_id)
    from radguard.db.models.inventory import Asset

    named = {a.name: a.id for a in session.scalars(select(Asset).where(Asset.name.in_(hosts)))} if hosts else {}
    out = []
    for (proto, client, server, port), rec in sorted(merged.items(), key=lambda kv: (kv[0][2], kv[0][3], kv[0][1],
                                                                                      kv[0][0])):
        out.append(ObservedFlow(
            proto=proto, client=client, server=server, server_port=port, service=rec["service"], tls=rec["tls"],
            connections=rec["connections"], packets=rec["packets"], client_bytes=rec["client_bytes"],
            server_bytes=rec["server_bytes"], first_seen=rec["first"], last_seen=rec["last"],
            client_asset_id=by_host.get(client, named.get(client)),
            server_asset_id=by_endpoint.get((server, port), by_host.get(server, named.get(server))),
            origins=tuple(sorted(rec["origins"])), evidence_ids=tuple(rec["ids"])))
    return out


def passive_evidence(session: Session, kind: str, *, scan_id: int | None = None) -> list[dict[str, Any]]:
    """The stored documents of one passive evidence kind (``passive.dicom``, ``passive.hl7``,
    ``passive.http`` or ``passive.flow``), oldest first; the read side for conversations."""
    if kind not in EVIDENCE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EVIDENCE_KINDS)}")
    query = select(Evidence.received).where(Evidence.kind == kind).order_by(Evidence.id)
    if scan_id is not None:
        query = query.where(Evidence.scan_id == scan_id)
    return [doc for (doc,) in session.execute(query)]

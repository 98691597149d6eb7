"""One asset's endpoint states (the asset page, `inventory show`) read only its hosts' probes (#18)
and are exactly that asset's rows of the whole list, whatever way a probe names its endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Endpoint
from radguard.db.session import Database
from radguard.discovery.probes import PROBE_KIND, endpoint_states
from radguard.inventory.importer import import_inventory
from tests.conftest import EXAMPLES

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _probe(at: int, host: str | None, port: int, state: str, asset_id: int | None = None,
           doc_host: str | None = None) -> Evidence:
    return Evidence(kind=PROBE_KIND, asset_id=asset_id, host=host, port=port, safety_level=1,
                    collected_at=T0 + timedelta(minutes=at),
                    received={"host": doc_host or host, "port": port, "state": state, "service": "dicom",
                              "dicom": None, "tls": None, "http": None, "errors": []})


def test_one_assets_states_are_its_rows_of_the_whole_list(database: Database) -> None:
    with database.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with database.transaction() as s:
        a, b, c = s.scalars(select(Asset).order_by(Asset.id).limit(3)).all()
        host_a = s.scalars(select(Endpoint.host).where(Endpoint.asset_id == a.id)).first() or "10.99.0.1"
        # b also holds a's host: an unattached probe of it belongs to the lower asset ID.
        s.add(Endpoint(asset_id=b.id, host=host_a, port=2762, protocol="tcp"))
        s.add(Endpoint(asset_id=c.id, host="10.99.0.3", port=104, protocol="tcp"))
        s.add_all([
            _probe(0, host_a, 104, "open", asset_id=a.id),          # attached
            _probe(1, host_a, 2762, "open"),                         # unattached: resolved to a
            _probe(2, "10.99.0.3", 104, "open"),                     # unattached: c's
            _probe(3, "10.99.0.3", 104, "closed", asset_id=a.id),   # later, attached to a: supersedes
            _probe(4, None, 11112, "open", doc_host=host_a),         # host only in the document
            _probe(5, "10.99.0.9", 4242, "open", asset_id=c.id),    # a host no endpoint holds
            _probe(6, "10.99.0.9", 4242, "filtered", asset_id=b.id),  # ... probed again for b
        ])
    with database.read() as s:
        whole = endpoint_states(s)
        ids = list(s.scalars(select(Asset.id).order_by(Asset.id)))
        seen = 0
        for asset_id in ids:
            mine = endpoint_states(s, asset_id=asset_id)
            assert mine == [e for e in whole if e.asset_id == asset_id], asset_id
            seen += len(mine)
        assert seen == len([e for e in whole if e.asset_id is not None]) >= 5
        assert {(e.host, e.port, e.state) for e in endpoint_states(s, asset_id=a.id)} >= {
            (host_a, 104, "open"), (host_a, 2762, "open"), ("10.99.0.3", 104, "closed"), (host_a, 11112, "open")}
        assert not [e for e in endpoint_states(s, asset_id=c.id) if e.host == "10.99.0.9"]  # b's now

"""Calling- and called-AE policies, rejects, echo and fingerprints against real peers."""

from __future__ import annotations

from radguard.discovery.results import EndpointDoc
from tests.discovery.conftest import probe
from tests.support.peers import Peer, dcmqrscp, pynetdicom_scp, storescp


def _dicom(doc: EndpointDoc):  # type: ignore[no-untyped-def]
    assert doc.dicom is not None, doc.errors
    return doc.dicom


def test_storescp_accepts_anyone_and_is_fingerprinted() -> None:
    with storescp() as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    assert doc.state == "open" and doc.service == "dicom"
    d = _dicom(doc)
    assert d.accepts_unknown_calling_ae is True and d.accepts_any_called_ae is True
    assert d.echo is True and d.reject is None
    assert (d.product, d.version) == ("DCMTK", "3.6.7")
    assert d.implementation_version_name == "OFFIS_DCMTK_367"
    assert d.anonymous_query is None  # level 2 never queries
    assert "Verification SOP Class" in d.accepted_services


def test_orthanc_default_is_correlated_with_its_rest_port(orthanc_open: Peer) -> None:
    assert orthanc_open.http_port is not None
    dicom_doc, http_doc = probe([(orthanc_open.host, orthanc_open.dicom_port),
                                 (orthanc_open.host, orthanc_open.http_port)])
    d = _dicom(dicom_doc)
    # The UID is DCMTK's; the web side of the same host names the product.
    assert d.implementation_class_uid and d.implementation_class_uid.startswith("1.2.276.0.7230010.3")
    assert d.product == "Orthanc" and d.version and d.version.startswith("1.")
    assert d.accepts_unknown_calling_ae is True and d.accepts_any_called_ae is True and d.echo is True
    # Its web port is a random one, so it was probed DICOM-first: civetweb's HTTP 400 answer to
    # the association request is recognised and the port is reported as the web service it is.
    assert http_doc.service == "dicomweb" and http_doc.dicom is None
    assert http_doc.http is not None and http_doc.http.auth_required is False
    assert http_doc.http.product == "Orthanc" and http_doc.http.dicomweb_anonymous is None  # level 2


def test_orthanc_dicom_port_alone_names_only_the_toolkit(orthanc_open: Peer) -> None:
    [doc] = probe([(orthanc_open.host, orthanc_open.dicom_port)])
    assert _dicom(doc).product == "DCMTK"


def test_dcmqrscp_reason_7_for_unknown_calling_ae_is_not_taken_at_its_word() -> None:
    with dcmqrscp(aet="QRSCP", allowed_peers=("KNOWNSCU",)) as peer:
        [doc] = probe([(peer.host, peer.dicom_port)], called_ae="QRSCP", calling_ae="KNOWNSCU")
        alive = peer.alive()
    d = _dicom(doc)
    assert d.reject is not None and (d.reject.result, d.reject.source, d.reject.reason) == (1, 1, 7)
    assert "called AE title not recognized" in d.reject.meaning
    # Right called AE + stranger refused => calling AE is checked, whatever the reason says.
    assert d.accepts_unknown_calling_ae is False
    # Known calling AE + wrong called AE refused => called AE is checked.
    assert d.accepts_any_called_ae is False
    assert d.echo is None
    assert alive, "two associations must not take dcmqrscp down"


def test_without_known_ae_titles_a_reject_leaves_policies_unknown() -> None:
    with dcmqrscp(aet="QRSCP") as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    d = _dicom(doc)
    assert d.reject is not None and d.reject.reason == 7
    assert d.accepts_unknown_calling_ae is None and d.accepts_any_called_ae is None


def test_pynetdicom_required_calling_ae_reason_3() -> None:
    with pynetdicom_scp(aet="PYSCP", required_calling=("KNOWNSCU",)) as peer:
        [doc] = probe([(peer.host, peer.dicom_port)], called_ae="PYSCP", calling_ae="KNOWNSCU")
    d = _dicom(doc)
    assert d.reject is not None and d.reject.reason == 3
    assert d.reject.meaning == "rejected-permanent; service-user: calling AE title not recognized"
    assert d.accepts_unknown_calling_ae is False
    # pynetdicom does not check the called AE by default: the known caller gets in with a wrong one.
    assert d.accepts_any_called_ae is True
    assert d.echo is True
    assert d.product == "pynetdicom"


def test_pynetdicom_called_ae_check_only() -> None:
    with pynetdicom_scp(aet="PYSCP", required_calling=(), require_called_aet=True) as peer:
        [doc] = probe([(peer.host, peer.dicom_port)], called_ae="PYSCP")
    d = _dicom(doc)
    assert d.accepts_unknown_calling_ae is True
    assert d.accepts_any_called_ae is False
    assert d.reject is not None and d.reject.reason == 7


def test_orthanc_called_ae_check_and_refused_query(orthanc_locked: Peer) -> None:
    [doc] = probe([(orthanc_locked.host, orthanc_locked.dicom_port)], called_ae=orthanc_locked.aet,
                  calling_ae="KNOWNSCU", level=3)
    d = _dicom(doc)
    assert d.accepts_unknown_calling_ae is True  # Orthanc lets strangers associate and echo
    assert d.echo is True
    assert d.accepts_any_called_ae is False
    # ...but aborts their C-FIND: reported as a refused query, not as "could not tell".
    assert d.anonymous_query is False


def test_orthanc_open_allows_anonymous_query_at_level_3(orthanc_open: Peer) -> None:
    [doc] = probe([(orthanc_open.host, orthanc_open.dicom_port)], level=3)
    assert _dicom(doc).anonymous_query is True

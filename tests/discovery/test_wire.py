"""The DICOM wire layer: requests decode as pynetdicom reads them; data sets are never decoded."""

from __future__ import annotations

import struct

import pytest
from pynetdicom.pdu import A_ASSOCIATE_RQ

from radguard.discovery import dicom_wire as wire
from radguard.discovery.fingerprints import dicom_product


def test_associate_rq_carries_each_ae_title_in_its_own_slot() -> None:
    first = wire.associate_rq("RGSTRANGER", "ANY-SCP", [wire.VERIFICATION, wire.STUDY_ROOT_FIND])
    second = wire.associate_rq("KNOWNSCU", "PACS1", [wire.VERIFICATION, wire.STUDY_ROOT_FIND])
    for data, calling, called in ((first, "RGSTRANGER", "ANY-SCP"), (second, "KNOWNSCU", "PACS1")):
        rq = A_ASSOCIATE_RQ()
        rq.decode(data)
        assert (rq.calling_ae_title, rq.called_ae_title) == (calling, called)
        assert [str(c.abstract_syntax) for c in rq.presentation_context] == [wire.VERIFICATION, wire.STUDY_ROOT_FIND]
        assert rq.user_information is not None
        assert rq.user_information.implementation_class_uid == wire.RADGUARD_IMPLEMENTATION_UID


@pytest.mark.parametrize("result, source, reason, meaning", [
    (1, 1, 3, "rejected-permanent; service-user: calling AE title not recognized"),
    (1, 1, 7, "rejected-permanent; service-user: called AE title not recognized"),
    (1, 1, 1, "rejected-permanent; service-user: no reason given"),
    (2, 3, 1, "rejected-transient; service-provider-presentation: temporary congestion"),
    (1, 2, 2, "rejected-permanent; service-provider-acse: protocol version not supported"),
    (1, 1, 9, "rejected-permanent; service-user: reason 9 (reserved)"),
])
def test_reject_decoding(result: int, source: int, reason: int, meaning: str) -> None:
    pdu = struct.pack(">BBIBBBB", 3, 0, 4, 0, result, source, reason)
    answer = wire.decode_association_answer(3, pdu)
    assert isinstance(answer, wire.Reject) and answer.meaning == meaning
    assert answer.transient is (result == 2)


def test_data_set_fragments_are_dropped_unread() -> None:
    phi = b"Zyxwvutsrq^Quorralind" * 4
    command = wire.c_echo_rq(1, 1, 16384)[6:]  # one PDV item carrying the command set
    data_item = struct.pack(">IBB", len(phi) + 2, 1, 0x02) + phi  # a last data set fragment
    body = data_item + command
    fragments = wire.CommandFragments()
    commands = fragments.feed(struct.pack(">BBI", 4, 0, len(body)) + body)
    assert len(commands) == 1 and commands[0].CommandField == 0x0030
    assert phi not in bytes(fragments.buffer)


def test_fingerprints() -> None:
    assert dicom_product("1.2.276.0.7230010.3.0.3.6.7", "OFFIS_DCMTK_367") == ("DCMTK", "3.6.7")
    assert dicom_product("1.2.826.0.1.3680043.9.3811.3.0.4", "PYNETDICOM_304") == ("pynetdicom", "3.0.4")
    assert dicom_product("1.2.40.0.13.1.3", "dcm4che-5.31.0") == ("dcm4che", "5.31.0")
    assert dicom_product("1.3.12.2.1107.5.2", "SIEMENS_XYZ") == ("Siemens Healthineers device", None)
    assert dicom_product("1.9.9.9", "OFFIS_DCMTK_366") == ("DCMTK", "3.6.6")  # version name alone
    assert dicom_product("1.9.9.9", None) == (None, None)
    # A longer root wins over a shorter one sharing its prefix.
    assert dicom_product("1.2.826.0.1.3680043.2.1545.1", "x")[0] == "Orthanc"

"""Vendor and product names as advisories and inventories really write them."""

from __future__ import annotations

import pytest

from radguard.feeds.normalize import product_name, vendor_for_product, vendor_keys


@pytest.mark.parametrize(("a", "b"), [
    ("Phillips", "Philips"),
    ("Philips", "Koninklijke Philips N.V."),
    ("GE Healthcare", "General Electric (GE)"),
    ("OFFIS e.V.", "OFFIS"),
    ("Becton, Dickinson and Company (BD)", "BD"),
    ("Medtronic ", "Medtronic"),
    ("Innokas YhtymÃ¤ Oy", "Innokas Yhtymä"),
    ("Natus Medical, Inc. (Natus)", "Natus"),
])
def test_vendor_spellings_agree(a: str, b: str) -> None:
    assert vendor_keys(a) & vendor_keys(b)


@pytest.mark.parametrize(("a", "b"), [("Philips", "Siemens"), ("GE Healthcare", "Change Healthcare"),
                                      ("OFFIS", "Orthanc")])
def test_different_vendors_stay_apart(a: str, b: str) -> None:
    assert not vendor_keys(a) & vendor_keys(b)


def test_multi_vendor_text_names_each_vendor() -> None:
    keys = vendor_keys("Silex Technology and GE Healthcare")
    assert "ge" in keys and any(k.startswith("silex") for k in keys)


def test_vendor_prefix_and_aliases_in_product_names() -> None:
    assert product_name("OFFIS DCMTK", "OFFIS").keys == product_name("DCMTK", "OFFIS").keys
    assert product_name("Philips Vue PACS", "Philips").keys == product_name("Vue PACS", "Phillips").keys
    assert product_name("DICOM Toolkit", "OFFIS").keys & product_name("DCMTK", "OFFIS").keys


def test_version_inside_product_name() -> None:
    pn = product_name("IntelliSpace Portal 8.0.x", "Phillips")
    assert pn.version == "8.0.x" and pn.keys == product_name("IntelliSpace Portal", "Philips").keys
    assert product_name("Image Vault 3.x medical imaging software", "GE Healthcare").version == "3.x"
    assert product_name("Optima 520", "GE Healthcare").version is None  # a model number, not a version


def test_slash_alternatives_and_parentheses() -> None:
    keys = product_name("Ultrasound EPIQ/Affiniti", "Philips").keys
    assert product_name("Ultrasound Affiniti", "Philips").keys <= keys
    assert product_name("Welch Allyn Connex Spot Monitor (CSM)", "Hillrom").keys & \
        product_name("Connex Spot Monitor", "Welch Allyn").keys


def test_products_that_name_their_vendor() -> None:
    assert vendor_for_product("DCMTK") in vendor_keys("OFFIS")
    assert vendor_for_product("Some Viewer") is None

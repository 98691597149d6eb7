"""Vendor and product names reduced to keys that compare reliably.

An inventory says "Philips Vue PACS", an advisory says vendor "Phillips", product "Vue PACS";
an SBOM says "OFFIS DCMTK", the advisory says vendor "OFFIS", product "DCMTK". Both sides are
reduced to the same keys here, so matching is a dictionary look-up rather than fuzzy search —
fast, and predictable enough to explain. Aliases that normalisation cannot derive live in
``aliases.yaml``. A match always needs both a vendor key and a product key in common.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

_CORPORATE = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "gmbh",
    "ag", "sa", "ev", "oy", "plc", "bv", "nv", "uab", "srl", "spa", "kg", "ab", "as", "holdings",
    "international", "group", "healthcare", "medical", "systems", "technologies", "technology",
    "solutions", "diagnostics", "laboratories", "labs", "developments",
}
_PAREN = re.compile(r"\(([^()]*)\)")
# A version written into a product name: "IntelliSpace Portal 8.0.x", "Xeleris 1.0",
# "Image Vault 3.x medical imaging software". A bare number ("Optima 520", "LOGIQ 7") is a model.
_NAME_VERSION_MID = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)*\.[xX])(?![\w.])")
_NAME_VERSION_END = re.compile(r"\s+v?(\d+\.\d+(?:\.\d+)*)\s*$")


def _fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Latin-1 ("YhtymÃ¤" → "Yhtymä"), as seen in real advisories."""
    if "Ã" in text or "â" in text:
        try:
            return text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text
    return text


@lru_cache(maxsize=65536)
def basic(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces."""
    t = unicodedata.normalize("NFKD", _fix_mojibake(text))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace("&", " and ")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return " ".join(t.split())


def _collapse(text: str) -> str:
    """Collapse doubled letters so common misspellings agree ("phillips" → "philips")."""
    return re.sub(r"([a-z])\1+", r"\1", text)


def _strip_corporate(text: str) -> str:
    # Initials written with dots ("e.V.", "G.E.") arrive as single letters: join them first.
    text = re.sub(r"\b([a-z]) (?=[a-z]\b)", r"\1", text)
    words = text.split()
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    while len(words) > 1 and words[-1] in _CORPORATE:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True)
class _Aliases:
    vendors: dict[str, str]
    vendor_words: dict[str, frozenset[str]]  # canonical key -> words of all its spellings
    products: dict[str, str]
    product_vendors: dict[str, str]


@cache
def _aliases() -> _Aliases:
    doc: dict[str, Any] = yaml.safe_load(
        resources.files("radguard.feeds").joinpath("aliases.yaml").read_text(encoding="utf-8")
    )
    vendors: dict[str, str] = {}
    vendor_words: dict[str, frozenset[str]] = {}
    for canon, others in (doc.get("vendors") or {}).items():
        key = _collapse(_strip_corporate(basic(canon)))
        words: set[str] = set()
        for name in [canon, *others]:
            vendors[_collapse(_strip_corporate(basic(name)))] = key
            words.update(basic(name).split())
        vendor_words[key] = frozenset(words)
    products: dict[str, str] = {}
    for canon, others in (doc.get("products") or {}).items():
        key = _collapse(basic(canon))
        for name in [canon, *others]:
            products[_collapse(basic(name))] = key
    product_vendors = {
        products.get(_collapse(basic(p)), _collapse(basic(p))): vendors.get(
            _collapse(_strip_corporate(basic(v))), _collapse(_strip_corporate(basic(v))))
        for p, v in (doc.get("product_vendors") or {}).items()
    }
    return _Aliases(vendors, vendor_words, products, product_vendors)


def vendor_key(name: str) -> str:
    """The key of one vendor name ("Phillips" → "philips", "GE Healthcare" → "ge")."""
    k = _collapse(_strip_corporate(basic(name)))
    return _aliases().vendors.get(k, k)


@lru_cache(maxsize=65536)
def vendor_keys(name: str) -> frozenset[str]:
    """Every vendor an advisory's vendor text names.

    Handles parenthetical short names ("Becton, Dickinson and Company (BD)") and lists of
    vendors ("Silex Technology and GE Healthcare", "ENEA, Green Hills Software, … Wind River").
    """
    keys: set[str] = set()
    main = _PAREN.sub(" ", name)
    full = vendor_key(main)
    if full:
        keys.add(full)
    for inner in _PAREN.findall(name):
        if k := vendor_key(inner):
            keys.add(k)
    if full not in _aliases().vendors.values():
        for part in re.split(r",|\s+and\s+|\s*&\s*|;", main):
            k = vendor_key(part)
            if len(k) >= 2 and k not in _CORPORATE:
                keys.add(k)
    return frozenset(k for k in keys if k)


@dataclass(frozen=True)
class ProductName:
    """A product's keys and, if the name carried one, the version it names."""

    keys: frozenset[str]
    version: str | None = None


def _alternatives(name: str) -> list[str]:
    """"Ultrasound EPIQ/Affiniti" names two products: Ultrasound EPIQ and Ultrasound Affiniti."""
    if "/" not in name:
        return [name]
    parts = [p.strip() for p in name.split("/")]
    if any(not p for p in parts):
        return [name]
    head = parts[0].split()
    out = [name, parts[0]]
    for part in parts[1:]:
        words = part.split()
        if len(words) == 1 and len(head) > 1:
            out.append(" ".join([*head[:-1], words[0]]))
        else:
            out.append(part)
    return out


@lru_cache(maxsize=65536)
def product_name(product: str, vendor: str = "") -> ProductName:
    """Keys for a product as one vendor names it; the vendor's own name is dropped from the front."""
    version: str | None = None
    text = product
    if m := _NAME_VERSION_MID.search(text):
        version = m.group(1)
        text = (text[: m.start()] + " " + text[m.end():]).strip()
    elif m := _NAME_VERSION_END.search(_PAREN.sub(" ", text)):
        version = m.group(1)
        text = _PAREN.sub(" ", text)[: m.start()].strip()
    vendor_words = set(basic(vendor).split())
    for k in vendor_keys(vendor) if vendor else ():
        vendor_words.update(k.split())
        vendor_words.update(_aliases().vendor_words.get(k, ()))
    aliases = _aliases().products
    keys: set[str] = set()
    for variant in (_PAREN.sub(" ", text), text):
        for alt in _alternatives(variant):
            words = basic(alt).split()
            while len(words) > 1 and (words[0] in vendor_words or _collapse(words[0]) in vendor_words):
                words = words[1:]
            if not words:
                continue
            k = _collapse(" ".join(words))
            keys.add(aliases.get(k, k))
    return ProductName(frozenset(keys), version)


def vendor_for_product(product: str) -> str | None:
    """The vendor key of a product that identifies its vendor on its own (see aliases.yaml)."""
    table = _aliases()
    for k in product_name(product).keys:
        if k in table.product_vendors:
            return table.product_vendors[k]
    return None

"""Loading the framework catalogs shipped with radguard, and checking references against them.

Checks and checklist questions cite framework IDs by hand; :func:`validate_refs` is how the
tests (and the content loaders) make sure every cited ID exists, so a mistyped ``PR.DS-5``
(a CSF 1.1 ID) is caught before it reaches a compliance officer's coverage report.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

import yaml
from pydantic import ValidationError

from radguard.errors import ConfigError, InputError
from radguard.frameworks.model import Framework, FrameworkKey

FRAMEWORK_KEYS: tuple[FrameworkKey, ...] = ("csf2", "hicp", "hph_cpg", "hipaa")
# The spellings a user may type on the command line, mapped to catalog keys.
_ALIASES: dict[str, FrameworkKey] = {
    "csf2": "csf2",
    "csf": "csf2",
    "csf-2": "csf2",
    "nist-csf": "csf2",
    "hicp": "hicp",
    "hph-cpg": "hph_cpg",
    "hph_cpg": "hph_cpg",
    "cpg": "hph_cpg",
    "hipaa": "hipaa",
}


def framework_key(name: str) -> FrameworkKey:
    """Turn what a user typed (``hph-cpg``) into a catalog key (``hph_cpg``)."""
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise InputError(
            "--framework", None, None, f"unknown framework {name!r}; choose one of csf2, hicp, hph-cpg, hipaa"
        )
    return key


@cache
def load_framework(key: FrameworkKey) -> Framework:
    """Load and validate one catalog from the package (cached: catalogs never change at run time)."""
    path = resources.files("radguard.frameworks") / "catalog" / f"{key}.yaml"
    text = path.read_text(encoding="utf-8")
    try:
        return Framework.model_validate(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"framework catalog {path} is invalid: {exc}") from exc


def all_frameworks() -> list[Framework]:
    return [load_framework(k) for k in FRAMEWORK_KEYS]


def validate_refs(framework: str, ids: Iterable[str]) -> list[str]:
    """Return the IDs that do not name a requirement (or alias) of ``framework``, in input order.

    ``framework`` is a catalog key or a CLI spelling (``hph-cpg``). An empty list means all exist.
    """
    fw = load_framework(framework_key(framework))
    return [i for i in ids if fw.resolve(i) is None]

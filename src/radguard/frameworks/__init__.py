"""Framework catalogs (NIST CSF 2.0, HICP, HPH CPGs, HIPAA Security Rule) and coverage.

The catalogs are YAML in ``catalog/``; :mod:`radguard.frameworks.loader` validates them and
checks references; :mod:`radguard.frameworks.coverage` says how far the organization's checks
and checklist answers meet each requirement.
"""

from radguard.frameworks.loader import FRAMEWORK_KEYS, all_frameworks, framework_key, load_framework, validate_refs
from radguard.frameworks.model import Framework, Requirement

__all__ = [
    "FRAMEWORK_KEYS",
    "Framework",
    "Requirement",
    "all_frameworks",
    "framework_key",
    "load_framework",
    "validate_refs",
]

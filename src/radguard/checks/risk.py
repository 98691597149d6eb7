"""Risk score 0–100 for a finding, with the arithmetic spelled out.

A security team triages hundreds of findings; the score orders them, and the explanation lets
anyone check why one outranks another. The score multiplies four factors:

* **severity** of the check (critical 1.0, high 0.75, medium 0.5, low 0.25, info 0.05);
* **clinical criticality** of the asset, 1–5 (0.6 … 1.0; unknown counts as 0.85 because an
  unrated device may well be an emergency scanner; non-asset findings use 0.85 too);
* **exposure**, 0–1 from the evaluator (how reachable the weakness is), raised to at least 0.9
  for assets in an Internet-facing zone, mapped to a factor 0.6 … 1.0;
* **exploit signal**: ×1.25 when a CVE is in CISA's Known Exploited Vulnerabilities catalog,
  ×1.4 when it is known to be used in ransomware campaigns; otherwise ×1.15 when FIRST's EPSS
  gives one of its CVEs at least a 10% probability of exploitation in the next 30 days (the
  score and its date are shown with the finding, from the imported EPSS file).

The product is scaled to 100 and capped there. The CVEs behind an exploit signal are in the
finding's evidence, not repeated in the explanation.

A finding stores only the *inputs* of its score (:func:`score_inputs`, about 100 bytes) and
the explanation is rebuilt from them when someone reads it (:func:`explain`): a large fleet has
hundreds of thousands of findings sharing a few dozen explanations, and writing the full
explanation into every row doubled the size of the register. Registers written before this
change hold full explanations, which :func:`explain` returns as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITY_WEIGHT: dict[str, float] = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25, "info": 0.05}
CRITICALITY_FACTOR: dict[int, float] = {1: 0.6, 2: 0.7, 3: 0.8, 4: 0.9, 5: 1.0}
UNKNOWN_CRITICALITY_FACTOR = 0.85
EXPOSED_ZONE_FLOOR = 0.9
KEV_FACTOR = 1.25
RANSOMWARE_FACTOR = 1.4
EPSS_FACTOR = 1.15
EPSS_THRESHOLD = 0.1


@dataclass(frozen=True)
class RiskScore:
    score: int
    explanation: dict[str, Any]


def exploit_signal(exploit: dict[str, Any]) -> tuple[float, str]:
    """The multiplier and a reason from an observation's ``exploit`` mapping.

    Evaluators report ``{"kev": true, "ransomware": "Known", "cves": [...]}``; ransomware
    may also be given as ``true``.
    """
    ransomware = exploit.get("ransomware")
    if ransomware is True or (isinstance(ransomware, str) and ransomware.lower() == "known"):
        return RANSOMWARE_FACTOR, "known ransomware campaign use"
    if exploit.get("kev"):
        return KEV_FACTOR, "listed in CISA KEV (exploited in the wild)"
    epss = exploit.get("epss")
    if isinstance(epss, int | float) and epss >= EPSS_THRESHOLD:
        return EPSS_FACTOR, f"EPSS probability of exploitation within 30 days at least {EPSS_THRESHOLD:.0%}"
    return 1.0, "no known exploitation"


_SIGNALS: dict[str, dict[str, Any]] = {"ransomware": {"ransomware": True}, "kev": {"kev": True},
                                       "epss": {"epss": 1.0}}


def signal_name(exploit: dict[str, Any] | None) -> str | None:
    """``"ransomware"``, ``"kev"``, ``"epss"`` or None: the exploit signal as a stored input."""
    factor = exploit_signal(exploit or {})[0]
    return {RANSOMWARE_FACTOR: "ransomware", KEV_FACTOR: "kev", EPSS_FACTOR: "epss"}.get(factor)


def score_inputs(severity: str, criticality: int | None, exposure: float, signal: str | None,
                 exposed_zone: bool, is_asset: bool) -> dict[str, Any]:
    """What a finding stores: everything :func:`score` needs to be recomputed exactly."""
    return {"severity": severity, "criticality": criticality, "exposure": exposure, "exploit": signal,
            "exposed_zone": exposed_zone, "is_asset": is_asset}


def explain(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The full explanation for a finding's stored risk document (inputs, or a legacy explanation)."""
    if not stored or "formula" in stored:
        return dict(stored or {})
    signal = stored.get("exploit")
    return score(str(stored["severity"]), stored.get("criticality"), float(stored["exposure"]),
                 _SIGNALS.get(signal) if isinstance(signal, str) else None,
                 exposed_zone=bool(stored.get("exposed_zone")),
                 is_asset=bool(stored.get("is_asset", True))).explanation


def score(severity: str, criticality: int | None, exposure: float, exploit: dict[str, Any] | None = None,
          exposed_zone: bool = False, is_asset: bool = True) -> RiskScore:
    """Combine the four factors; see the module docstring for the scale."""
    sev = SEVERITY_WEIGHT.get(severity, SEVERITY_WEIGHT["medium"])
    if is_asset and criticality in CRITICALITY_FACTOR:
        crit = CRITICALITY_FACTOR[criticality]
        crit_note = f"asset criticality {criticality} of 5"
    else:
        crit = UNKNOWN_CRITICALITY_FACTOR
        crit_note = "criticality not recorded" if is_asset else "not an asset: organisation-wide weight"
    raw_exposure = min(max(float(exposure), 0.0), 1.0)
    effective = max(raw_exposure, EXPOSED_ZONE_FLOOR) if exposed_zone else raw_exposure
    exp = 0.6 + 0.4 * effective
    exp_note = "asset is in an Internet-facing zone" if exposed_zone and effective > raw_exposure else (
        "as reported by the check")
    mult, exploit_note = exploit_signal(exploit or {})
    value = round(min(100.0, 100.0 * sev * crit * exp * mult))
    return RiskScore(
        score=int(value),
        explanation={
            "formula": "100 × severity × criticality × exposure × exploit, capped at 100",
            "severity": {"value": severity, "factor": sev},
            "criticality": {"value": criticality, "factor": crit, "note": crit_note},
            "exposure": {"value": round(effective, 2), "factor": round(exp, 3), "note": exp_note},
            "exploit": {"factor": mult, "note": exploit_note},
            "score": int(value),
        },
    )

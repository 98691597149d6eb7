"""The standard roles of an imaging incident response team.

They live beside the playbooks because every playbook step names one of them: the binder
prints the person and phone number holding the role next to the step. A team file may add
roles of its own and override these titles and duties.
"""

from __future__ import annotations

# The roles an imaging incident needs; a team file may add its own. Titles and duties are
# defaults a team file can override.
STANDARD_ROLES: dict[str, tuple[str, list[str]]] = {
    "incident_commander": ("Incident commander", [
        "Declares the incident and the downtime, and ends them",
        "Decides on diversion and on stopping modalities, with the radiologist lead",
        "Keeps the decision log",
    ]),
    "imaging_informatics": ("Imaging informatics lead", [
        "Knows where images flow: modalities, router, PACS, VNA, cloud",
        "Runs isolation and restoration of imaging systems with IT/security",
        "Reconciles studies and orders after recovery",
    ]),
    "radiologist_lead": ("Radiologist lead", [
        "Sets reading priorities during downtime (emergency, inpatient, outpatient)",
        "Activates wet reads, console reads and teleradiology failover",
        "Owns critical-results communication while systems are down",
    ]),
    "technologist_lead": ("Technologist lead", [
        "Tells each modality whether to keep scanning, and watches local disk",
        "Runs paper requisitions and manual patient entry at the console",
    ]),
    "it_security": ("IT / security lead", [
        "Contains the threat: isolates segments, disables accounts, preserves evidence",
        "Works with the forensic firm and law enforcement",
    ]),
    "communications": ("Communications lead", [
        "Informs staff, referring physicians and patients through channels that still work",
        "Handles media enquiries",
    ]),
    "privacy_legal": ("Privacy / legal lead", [
        "Decides whether a breach occurred and runs the notification clock",
        "Notifies regulators, insurers and affected people when required",
    ]),
    "vendor_liaison": ("Vendor liaison", [
        "Calls modality, PACS, AI and cloud vendors; gets their incident status",
        "Controls vendor remote access during the incident",
    ]),
    "facilities": ("Facilities lead", [
        "Keeps power, cooling and physical access for imaging equipment",
        "Supplies runners for paper and media transport",
    ]),
}

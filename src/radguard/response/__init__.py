"""Response records: the incident-response team, imaging services, drills, playbooks, workforce.

These are records an organisation keeps about how it would respond — who holds which role,
which services depend on which assets, what drills showed, who was trained. Checks read them
as evidence (``radguard.checks.evaluators.response`` / ``workforce``) and readiness interprets
them (continuity, binder, roadmap), so this package imports neither ``radguard.checks`` nor
``radguard.readiness``: data flows one way (see docs/architecture.md).
"""

"""Outbound integrations: SIEM (syslog CEF, JSON lines); notifications and tickets build on the
same records. Findings are read only through :mod:`radguard.checks.findings`, audit events
through :mod:`radguard.web.audit`.
"""

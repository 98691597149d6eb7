"""Readiness: what leaders act on — checklists and maturity scores, the roadmap, workforce awareness.

Everything here is tied back to evidence: a checklist answer that open findings contradict is
marked challenged and capped, and the roadmap is built from checklist gaps and open findings
together, so the leadership view cannot drift away from what the checks observe.
"""

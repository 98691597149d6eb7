"""Checks: a YAML catalog of safeguards plus small typed evaluators that find them missing."""

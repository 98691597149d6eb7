"""Evidence links: the open findings that contradict a checklist answer.

A question lists the checks whose findings speak against a high answer. When any of those
checks has open findings, an answer above :data:`CHALLENGE_CAP` is *challenged by evidence*:
it is shown with the findings, and it scores at most the cap until they are resolved.
"""

from __future__ import annotations

# The open findings themselves are the findings register's to read (radguard.checks.findings);
# they are re-exported here because the checklist modules name them beside the cap.
from radguard.checks.findings import FindingRef, open_findings

__all__ = ["CHALLENGE_CAP", "FindingRef", "open_findings"]

# A claim of "defined" (2) or better cannot stand while the checks see the safeguard missing;
# the most it earns is "initial" (1): something exists, but not where the evidence looked.
CHALLENGE_CAP = 1

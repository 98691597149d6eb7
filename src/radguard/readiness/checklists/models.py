"""The checklist catalog as typed data: domains, questions, size profiles.

Validation lives here so that a mistake in the YAML (an unknown domain, a duplicated ID, a
framework ID in the wrong format, a profile that forgets a domain) stops radguard at load time
instead of producing a quietly wrong score.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radguard.checks.spec import Effort
from radguard.frameworks.loader import validate_refs

Size = Literal["small", "medium", "large"]
SIZES: tuple[Size, ...] = ("small", "medium", "large")

# The maturity scale every question is answered on.
SCALE: dict[int, str] = {0: "not performed", 1: "initial", 2: "defined", 3: "managed", 4: "optimized"}
MAX_LEVEL = 4

CSF_FUNCTIONS: dict[str, str] = {
    "GV": "Govern", "ID": "Identify", "PR": "Protect", "DE": "Detect", "RS": "Respond", "RC": "Recover",
}

CSF2_ID = r"^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$"
HICP_ID = r"^([1-9]|10)\.[SML]\.[A-F]$"
HPH_CPG_ID = r"^[EX]([1-9]|10)$"
HIPAA_ID = r"^164\.(3(0[2-9]|1[0-8]))(\(([a-z]|[0-9]{1,2}|[ivx]+|[A-Z])\))*$"
CHECK_ID = r"^RG-[A-Z0-9]+(-[A-Z0-9]+)*$"


class QuestionFrameworks(BaseModel):
    """Framework IDs in the formats of docs/developing.md; formats are enforced at load time."""

    model_config = ConfigDict(extra="forbid")

    csf2: list[str] = Field(min_length=1)
    # At least one HICP sub-practice, like every check: leaders plan against HICP.
    hicp: list[str] = Field(min_length=1)
    hph_cpg: list[str] = Field(default_factory=list)
    hipaa: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _formats(self) -> QuestionFrameworks:
        import re

        for key, pattern in (("csf2", CSF2_ID), ("hicp", HICP_ID), ("hph_cpg", HPH_CPG_ID), ("hipaa", HIPAA_ID)):
            for value in getattr(self, key):
                if not re.match(pattern, value):
                    raise ValueError(f"{key} ID {value!r} does not match the format {pattern}")
        for key in ("csf2", "hicp", "hph_cpg", "hipaa"):
            unknown = validate_refs(key, getattr(self, key))
            if unknown:
                raise ValueError(f"{key} ID {', '.join(map(repr, unknown))} is not in radguard's {key} catalog")
        return self

    def functions(self) -> list[str]:
        """The CSF 2.0 functions (GV, ID, …) the question speaks to, each once."""
        return sorted({ref.split(".", 1)[0] for ref in self.csf2}, key=list(CSF_FUNCTIONS).index)


class Domain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z_]+$")
    title: str
    description: str
    # Roadmap topic: actions in this domain take part in the topic dependency graph (roadmap.yaml).
    topic: str
    # The role that usually owns improvements in this domain, used when an answer names no owner.
    owner: str


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    domain: str
    text: str = Field(min_length=15)
    guidance: str = Field(min_length=15, description="What good looks like, level by level where it helps.")
    weight: float = Field(default=1.0, gt=0, le=5)
    sizes: list[Size] = Field(min_length=1)
    frameworks: QuestionFrameworks
    # Checks whose open findings contradict a high answer to this question.
    checks: list[str] = Field(default_factory=list)
    # What to do to close a gap on this question (the roadmap action), and how much work it is.
    action: str = Field(min_length=10)
    effort: Effort = "medium"

    @model_validator(mode="after")
    def _check_ids(self) -> Question:
        import re

        for check_id in self.checks:
            if not re.match(CHECK_ID, check_id):
                raise ValueError(f"check ID {check_id!r} is not in the RG-… format")
        return self


class SizeProfile(BaseModel):
    """The maturity an organization of one size should reach in each domain (0–4)."""

    model_config = ConfigDict(extra="forbid")

    size: Size
    description: str
    targets: dict[str, int]

    @model_validator(mode="after")
    def _levels(self) -> SizeProfile:
        for domain, level in self.targets.items():
            if not 0 <= level <= MAX_LEVEL:
                raise ValueError(f"target for {domain} must be 0–{MAX_LEVEL}, not {level}")
        return self


class ChecklistCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    domains: list[Domain]
    questions: list[Question]
    profiles: list[SizeProfile]

    @model_validator(mode="after")
    def _consistent(self) -> ChecklistCatalog:
        domain_keys = [d.key for d in self.domains]
        if len(set(domain_keys)) != len(domain_keys):
            raise ValueError("domain keys must be unique")
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question ID {q.id} is used twice")
            seen.add(q.id)
            if q.domain not in domain_keys:
                raise ValueError(f"question {q.id} names unknown domain {q.domain!r}")
        sizes = [p.size for p in self.profiles]
        if sorted(sizes) != sorted(SIZES):
            raise ValueError("there must be exactly one profile for each of small, medium and large")
        for profile in self.profiles:
            missing = set(domain_keys) - set(profile.targets)
            extra = set(profile.targets) - set(domain_keys)
            if missing or extra:
                raise ValueError(
                    f"profile {profile.size}: targets must name every domain exactly "
                    f"(missing {sorted(missing)}, unknown {sorted(extra)})"
                )
        return self

    def question(self, question_id: str) -> Question | None:
        return self._by_id().get(question_id)

    def _by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def domain(self, key: str) -> Domain:
        return next(d for d in self.domains if d.key == key)

    def profile(self, size: str) -> SizeProfile:
        return next(p for p in self.profiles if p.size == size)

    def questions_for(self, size: str) -> list[Question]:
        """The questions that apply to an organization of this size, in catalog order."""
        return [q for q in self.questions if size in q.sizes]

"""The shape of a framework catalog, validated when the YAML is loaded.

Catalogs are data so a compliance officer can read and review them without reading Python; the
model rejects typos (unknown keys, dangling groups or parents, duplicate IDs) at load time rather
than letting a coverage report silently drop a requirement.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FrameworkKey = Literal["csf2", "hicp", "hph_cpg", "hipaa"]
OrgSize = Literal["small", "medium", "large"]


class Group(BaseModel):
    """A heading requirements sit under: a CSF function or category, a HICP practice, a CFR section."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    level: str
    parent: str | None = None


class Requirement(BaseModel):
    """One thing a framework asks for, at the granularity checks and checklist questions map to."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    group: str
    # HIPAA: a standard or one of its implementation specifications (with parent = the standard).
    kind: Literal["requirement", "standard", "implementation_specification"] = "requirement"
    parent: str | None = None
    # HIPAA: required or addressable. None for frameworks without that notion.
    flag: Literal["required", "addressable"] | None = None
    # HICP: the smallest organization size the sub-practice is written for.
    size: OrgSize | None = None
    aliases: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _spec_has_parent(self) -> Requirement:
        if self.parent is not None and self.kind == "requirement":
            self.kind = "implementation_specification"
        return self

    def applies_to(self, org_size: OrgSize) -> bool:
        """HICP: medium sub-practices also apply to large organizations; small ones only to small."""
        if self.size is None:
            return True
        if self.size == "small":
            return org_size == "small"
        if self.size == "medium":
            return org_size in ("medium", "large")
        return org_size == "large"


class Framework(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: FrameworkKey
    name: str
    short_name: str
    version: str
    source: str
    groups: list[Group]
    requirements: list[Requirement] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        group_ids = [g.id for g in self.groups]
        if len(set(group_ids)) != len(group_ids):
            raise ValueError("duplicate group id")
        for g in self.groups:
            if g.parent is not None and g.parent not in group_ids:
                raise ValueError(f"group {g.id}: parent {g.parent} is not a group")
        seen: set[str] = set()
        for r in self.requirements:
            for ident in (r.id, *r.aliases):
                if ident in seen:
                    raise ValueError(f"requirement id or alias {ident} appears twice")
                seen.add(ident)
            if r.group not in group_ids:
                raise ValueError(f"requirement {r.id}: group {r.group} is not a group")
        ids = {r.id for r in self.requirements}
        for r in self.requirements:
            if r.parent is not None and r.parent not in ids:
                raise ValueError(f"requirement {r.id}: parent {r.parent} is not a requirement")
        return self

    def group(self, group_id: str) -> Group:
        return next(g for g in self.groups if g.id == group_id)

    def top_group(self, requirement: Requirement) -> Group:
        """The outermost heading (CSF function, HICP practice, CFR section) of a requirement."""
        g = self.group(requirement.group)
        while g.parent is not None:
            g = self.group(g.parent)
        return g

    def resolve(self, ident: str) -> Requirement | None:
        """The requirement an ID or alias names, or None."""
        return self._index().get(ident.strip())

    def _index(self) -> dict[str, Requirement]:
        index: dict[str, Requirement] = {}
        for r in self.requirements:
            index[r.id] = r
            for alias in r.aliases:
                index[alias] = r
        return index

    def children(self, requirement_id: str) -> list[Requirement]:
        return [r for r in self.requirements if r.parent == requirement_id]

"""Loading the checklist catalog from the YAML shipped in the package, validated on the way in.

The catalog is three files in ``catalog/``: ``domains.yaml``, ``questions.yaml`` and
``profiles.yaml``. Any problem raises :class:`ConfigError` naming the file and what is wrong,
so a broken catalog never produces a score.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from radguard.errors import ConfigError
from radguard.readiness.checklists.models import ChecklistCatalog

CATALOG_DIR = Path(__file__).parent / "catalog"


# libyaml's safe loader when PyYAML has it (as checks.loader does): the catalog is read by every
# process that builds a roadmap, an assessment's included, and the pure-Python one took 0.5 s.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the checklist catalog file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def load_catalog_from(directory: Path) -> ChecklistCatalog:
    """Load and validate a catalog directory (the packaged one, or a copy under test)."""
    questions_doc = _read(directory / "questions.yaml")
    if not isinstance(questions_doc, dict) or "questions" not in questions_doc:
        raise ConfigError(f"{directory / 'questions.yaml'}: expected a mapping with 'version' and 'questions'")
    data = {
        "version": str(questions_doc.get("version", "")),
        "questions": questions_doc["questions"],
        "domains": _read(directory / "domains.yaml"),
        "profiles": _read(directory / "profiles.yaml"),
    }
    try:
        return ChecklistCatalog.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            if error["loc"] and error["loc"][0] == "questions" and len(error["loc"]) > 1:
                index = error["loc"][1]
                if isinstance(index, int):
                    qid = data["questions"][index].get("id", f"#{index + 1}")
                    where = f"question {qid}" + (
                        f", field '{'.'.join(str(p) for p in error['loc'][2:])}'" if len(error["loc"]) > 2 else ""
                    )
            problems.append(f"{where}: {error['msg']}")
        raise ConfigError(f"checklist catalog in {directory} is invalid: " + "; ".join(problems)) from exc


@lru_cache(maxsize=1)
def load_catalog() -> ChecklistCatalog:
    """The packaged catalog, loaded once per process."""
    return load_catalog_from(CATALOG_DIR)

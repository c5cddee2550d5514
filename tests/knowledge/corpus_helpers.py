"""Where the shared corpora and the eval script live, for the importer tests (skipped when absent)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"


def eval_validator() -> ModuleType | None:
    """shared/eval/validate_questions.py as a module (its operation-counting conventions), or None."""
    path = CORPORA.parent / "eval" / "validate_questions.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("validate_questions", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

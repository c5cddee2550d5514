"""Where the shared corpora and the eval script live, for the importer tests (skipped when absent)."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from woes.importers.base import ImportContext, SourceFile

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


def cached_parser(folder: Path, importer: Any) -> Callable[[str], Any]:
    """`get(name)` parses folder/name once (the ImportResult is cached); `get.timings[name]` holds
    (result, seconds) for speed assertions."""
    cache: dict[str, tuple[Any, float]] = {}

    def get(name: str) -> Any:
        if name not in cache:
            data = (folder / name).read_bytes()
            started = time.process_time()  # CPU time: parallel test workers do not count
            result = importer.parse([SourceFile(path=name, data=data)], ImportContext())
            cache[name] = (result, time.process_time() - started)
        return cache[name][0]

    get.timings = cache  # type: ignore[attr-defined]
    return get

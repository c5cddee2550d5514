"""`type: auto`: ask every registered importer how sure it is, pick the most confident.

`IMPORTERS` (format → importer instance) is filled lazily, on first use, from the modules
`woes.importers.{openapi, postman, graphql, asyncapi, grpc, wsdl, markdown, jsondoc, website}`.
A module that is missing (ImportError, or any other error while importing it) is skipped and remembered in `UNAVAILABLE`, so detection
works with whatever formats exist. In each module the importer is found as a module-level `IMPORTER`
instance, or else every class defined there that has a string `format` and `detect`/`parse` methods
(instantiated without arguments). `register()` adds one by hand (tests, plugins).
"""

from __future__ import annotations

import importlib
import logging
import threading

from woes.importers.base import Importer, ImportError_, SourceFile

__all__ = ["IMPORTERS", "UNAVAILABLE", "detect_format", "get_importer", "load_importers", "register", "scores"]

log = logging.getLogger(__name__)

IMPORTER_MODULES = ("openapi", "postman", "graphql", "asyncapi", "grpc", "wsdl", "markdown", "jsondoc", "website")
MIN_CONFIDENCE = 0.1

IMPORTERS: dict[str, Importer] = {}
UNAVAILABLE: dict[str, str] = {}  # module → why it could not be loaded
_lock = threading.Lock()
_loaded = False


def _importers_in(module: object) -> list[Importer]:
    explicit = getattr(module, "IMPORTER", None)
    if explicit is not None:
        return [explicit]
    found: list[Importer] = []
    for name, obj in vars(module).items():
        if not isinstance(obj, type) or name.startswith("_") or obj.__module__ != getattr(module, "__name__", None):
            continue
        if (
            isinstance(getattr(obj, "format", None), str)
            and callable(getattr(obj, "detect", None))
            and callable(getattr(obj, "parse", None))
        ):
            try:
                found.append(obj())
            except TypeError:
                continue  # needs constructor arguments: not a plain importer
    return found


def register(importer: Importer) -> None:
    """Add (or replace) the importer for `importer.format`."""
    with _lock:
        IMPORTERS[importer.format] = importer


def load_importers() -> dict[str, Importer]:
    """Import the known importer modules once; returns the registry."""
    global _loaded
    if _loaded:
        return IMPORTERS
    with _lock:
        if _loaded:
            return IMPORTERS
        for module_name in IMPORTER_MODULES:
            try:
                module = importlib.import_module(f"woes.importers.{module_name}")
            except ImportError as exc:  # not written yet, or an optional dependency is missing
                UNAVAILABLE[module_name] = str(exc)
                log.debug("importer module %s unavailable: %s", module_name, exc)
                continue
            except Exception as exc:  # a broken module must not take every other format down with it
                UNAVAILABLE[module_name] = f"{type(exc).__name__}: {exc}"
                log.exception("importer module %s failed to import", module_name)
                continue
            for importer in _importers_in(module):
                IMPORTERS.setdefault(importer.format, importer)
        _loaded = True
    return IMPORTERS


def get_importer(fmt: str) -> Importer:
    importers = load_importers()
    try:
        return importers[fmt]
    except KeyError:
        known = ", ".join(sorted(importers)) or "none"
        raise ImportError_(f"unknown source format {fmt!r} (available: {known})") from None


def scores(files: list[SourceFile]) -> dict[str, float]:
    """Every importer's confidence for these files (an importer whose detect() fails scores 0)."""
    out: dict[str, float] = {}
    for fmt, importer in sorted(load_importers().items()):
        try:
            out[fmt] = max(0.0, min(1.0, float(importer.detect(files))))
        except Exception as exc:  # noqa: BLE001 - one broken detector must not break `auto`
            log.warning("importer %s failed to detect: %s", fmt, exc)
            out[fmt] = 0.0
    return out


def detect_format(files: list[SourceFile]) -> tuple[str, float]:
    """(format, confidence) of the most confident importer; ImportError_ when none or a tie."""
    if not files:
        raise ImportError_("could not detect the format: the source has no files")
    ranked = sorted(scores(files).items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < MIN_CONFIDENCE:
        names = ", ".join(f.path for f in files[:5]) + (" …" if len(files) > 5 else "")
        tried = ", ".join(fmt for fmt, _ in ranked) or "no importer is installed"
        raise ImportError_(
            f"could not detect the format: no importer recognised {names} (tried {tried}); set the type explicitly"
        )
    best_fmt, best = ranked[0]
    tied = [fmt for fmt, score in ranked[1:] if abs(score - best) < 1e-9]
    if tied:
        raise ImportError_(
            f"could not detect the format: {', '.join([best_fmt, *tied])} are equally likely "
            f"(confidence {best:.2f}); set the type explicitly"
        )
    return best_fmt, best

"""Imports every domain's models so that Base.metadata is complete (Alembic, tests).

Domains are discovered: any subpackage of `woes` with a `models` module is imported."""

from __future__ import annotations

import importlib
import pkgutil

import woes


def domain_modules(name: str) -> list[str]:
    """`woes.<domain>.<name>` for every domain package that has such a module, in a stable order."""
    found = []
    for pkg in sorted(pkgutil.iter_modules(woes.__path__), key=lambda m: m.name):
        if pkg.ispkg and importlib.util.find_spec(f"woes.{pkg.name}.{name}") is not None:
            found.append(f"woes.{pkg.name}.{name}")
    return found


for _module in domain_modules("models"):
    importlib.import_module(_module)

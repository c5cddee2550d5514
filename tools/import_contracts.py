"""import-linter contract types of our own (configured in pyproject.toml, run by `lint-imports` in the test command).

`private_names`: no module uses another package's `_private` name, neither by `from x import _name`, nor as
`alias._name` through an imported module, nor by importing a `_private` module of another package. The
owner of a module is its top-level package under the root (`woes.agents.runtime` → `woes.agents`); a
top-level module (`woes.cli`) owns itself. import-linter's built-in contracts see modules, not names, so
this one reads each module's syntax tree.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class PrivateUse:
    module: str
    line: int
    what: str


class PrivateNamesContract(Contract):
    root = fields.StringField()
    ignore_modules = fields.ListField(subfield=fields.StringField(), required=False)

    def _owner(self, module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) >= 2 else module

    def _module_private(self, module: str, importer_owner: str) -> bool:
        return self._owner(module) != importer_owner and any(_private(p) for p in module.split(".")[1:])

    def _resolve(self, importer: str, node: ast.ImportFrom, is_package: bool) -> str | None:
        if node.level == 0:
            return node.module
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def _uses(self, module: str) -> list[PrivateUse]:
        path = _module_file(module)
        if path is None:
            return []
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        mine = self._owner(module)
        found: list[PrivateUse] = []
        aliases: dict[str, str] = {}  # local name -> imported module of another package
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith(self.root + ".") and self._owner(a.name) != mine:
                        if self._module_private(a.name, mine):
                            found.append(PrivateUse(module, node.lineno, f"import {a.name}"))
                        if a.asname:
                            aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom):
                source = self._resolve(module, node, is_package)
                if not source or not (source == self.root or source.startswith(self.root + ".")):
                    continue
                for a in node.names:
                    target = f"{source}.{a.name}"
                    if self._owner(target) == mine:
                        continue
                    if self._module_private(source, mine) or _private(a.name):
                        found.append(PrivateUse(module, node.lineno, f"from {source} import {a.name}"))
                    elif _module_file(target) is not None:
                        aliases[a.asname or a.name] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and _private(node.attr)):
                found.append(PrivateUse(module, node.lineno, f"{aliases[node.value.id]}.{node.attr}"))
        return found

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        ignored = set(self.ignore_modules or [])
        uses = []
        for module in sorted(graph.find_descendants(self.root)):
            if any(module == i or module.startswith(i + ".") for i in ignored):
                continue
            uses.extend(self._uses(module))
        return ContractCheck(kept=not uses, metadata={"uses": uses})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for use in check.metadata["uses"]:
            output.print_error(f"{use.module}:{use.line} uses another package's private name: {use.what}", bold=False)
            output.new_line()


def _module_file(module: str) -> Path | None:
    """The source file of `module`, found without importing anything (importing runs model declarations)."""
    root, *rest = module.split(".")
    spec = importlib.util.find_spec(root)  # the root package only
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None

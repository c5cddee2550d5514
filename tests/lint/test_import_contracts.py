"""The private-names import contract (tools/import_contracts.py) catches each way of reaching into another package."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import grimp
import pytest

from tools.import_contracts import PrivateNamesContract

FILES = {
    "pkgx/__init__.py": "",
    "pkgx/alpha/__init__.py": "",
    "pkgx/alpha/service.py": "def _helper():\n    return 1\n\ndef public():\n    return _helper()\n",
    "pkgx/alpha/_internal.py": "VALUE = 1\n",
    "pkgx/alpha/routes.py": "from pkgx.alpha.service import _helper  # same package: allowed\nfrom . import _internal\n",
    "pkgx/beta/__init__.py": "",
    "pkgx/beta/clean.py": "from pkgx.alpha import service\nfrom pkgx.alpha.service import public\n\nservice.public()\n",
    "pkgx/beta/by_name.py": "from pkgx.alpha.service import _helper\n",
    "pkgx/beta/by_attribute.py": "from pkgx.alpha import service as alpha\n\nalpha._helper()\n",
    "pkgx/beta/by_module.py": "from pkgx.alpha import _internal\n",
    "pkgx/beta/by_import.py": "import pkgx.alpha._internal as inner\n",
}


@pytest.fixture
def package(tmp_path: Path, monkeypatch):
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "pkgx"
    for mod in [m for m in sys.modules if m == "pkgx" or m.startswith("pkgx.")]:
        del sys.modules[mod]


def test_every_way_in_is_reported_and_nothing_else(package):
    contract = PrivateNamesContract("private", {}, {"root": package})
    check = contract.check(grimp.build_graph(package), verbose=False)
    assert not check.kept
    found = sorted((u.module, u.what) for u in check.metadata["uses"])
    assert found == [
        ("pkgx.beta.by_attribute", "pkgx.alpha.service._helper"),
        ("pkgx.beta.by_import", "import pkgx.alpha._internal"),
        ("pkgx.beta.by_module", "from pkgx.alpha import _internal"),
        ("pkgx.beta.by_name", "from pkgx.alpha.service import _helper"),
    ]


def test_ignored_modules_are_not_read(package):
    contract = PrivateNamesContract("private", {}, {"root": package, "ignore_modules": ["pkgx.beta"]})
    assert contract.check(grimp.build_graph(package), verbose=False).kept

"""`woes lab` on the command line: a throwaway workspace, the same lab code, thresholds as exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lab_helpers import BANK, SECRET, SPEC_V1, bank_jsonl

from woes.cli import main


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    spec = tmp_path / "petstore.yaml"
    spec.write_text(SPEC_V1)
    bank = tmp_path / "bank.jsonl"
    bank.write_text(bank_jsonl(BANK[:3]))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "api.yaml").write_text(SPEC_V1)
    (docs / "guide.md").write_text("# Adoption guide\n\nAdopted pets get the status `sold`.\n")
    (docs / ".hidden").write_text("ignored")
    return {"spec": spec, "bank": bank, "docs": docs}


def test_passes_with_low_thresholds(files, capsys):
    code = main(["lab", "--source", str(files["spec"]), "--questions", str(files["bank"]), "--min-hit1", "0.5",
                 "--min-must-mention", "0.5", "--max-refused", "0.5"])
    out = capsys.readouterr()
    assert code == 0, out
    assert "first-citation Hit@1" in out.out and "1.00" in out.out and "NOT MET" not in out.out
    assert SECRET not in out.out + out.err
    assert os.environ.get("WOES_DATA_DIR") != str(files["spec"].parent)  # the environment is restored


def test_fails_below_a_threshold(files, capsys):
    code = main(["lab", "--source", str(files["spec"]), "--questions", str(files["bank"]), "--min-hit1", "1.01"])
    out = capsys.readouterr()
    assert code == 1
    assert "NOT MET" in out.out and "threshold not met: first-citation Hit@1 is 1.00, --min-hit1 wants at least 1.01" in out.err


def test_json_output_folder_source_and_data_dir(files, tmp_path, capsys):
    data = tmp_path / "kept"
    code = main(["lab", "--source", str(files["docs"]), "--source", str(files["spec"]), "--questions", str(files["bank"]),
                 "--min-handoff", "0.5", "--json", "--data-dir", str(data)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # no unanswerable question in the bank: the handoff rate cannot be measured
    assert out["thresholds"] == [{"option": "--min-handoff", "metric": "unanswerableHandedOff", "label":
                                  "unanswerable questions handed off", "direction": "min", "threshold": 0.5,
                                  "value": None, "met": False}]
    assert [s["name"] for s in out["sources"]] == ["docs", "petstore.yaml"]
    assert out["aggregates"]["counts"]["questions"] == 3 and len(out["results"]) == 3
    assert out["results"][1]["evaluation"]["redactionHeld"] is True and SECRET not in json.dumps(out)
    assert (data / "woes.db").exists()


def test_bad_input_exits_2(files, tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert main(["lab", "--source", str(files["spec"]), "--questions", str(missing)]) == 2
    assert "cannot read the question bank" in capsys.readouterr().err
    assert main(["lab", "--source", str(tmp_path / "nope.yaml"), "--questions", str(files["bank"])]) == 2
    assert "cannot read the source" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(BANK[0]) + "\n" + '{"expected_operations": []}\n')
    assert main(["lab", "--source", str(files["spec"]), "--questions", str(bad)]) == 2
    assert "questions[2].question: Line 2: This field is required." in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["lab", "--source", str(empty), "--questions", str(files["bank"])]) == 2
    assert "no files" in capsys.readouterr().err


@pytest.mark.slow
def test_entry_point(files):
    proc = subprocess.run([sys.executable, "-m", "woes", "lab", "--source", str(files["spec"]), "--questions",
                           str(files["bank"]), "--min-hit1", "0.5"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WOES_DATA_DIR": str(files["spec"].parent / "unused")})
    assert proc.returncode == 0, proc.stderr
    assert "first-citation Hit@1" in proc.stdout
    assert not (files["spec"].parent / "unused").exists()  # a throwaway workspace, not the configured one
    proc = subprocess.run([sys.executable, "-m", "woes", "lab", "--source", str(files["spec"]), "--questions",
                           str(files["bank"]), "--min-hit1", "1.01"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "threshold not met" in proc.stderr

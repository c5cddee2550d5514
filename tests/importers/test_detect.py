"""`type: auto` format detection over the importer registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from woes.importers import detect
from woes.importers.base import ImportContext, ImportError_, ImportResult, SourceFile
from woes.importers.detect import IMPORTERS, detect_format, get_importer, load_importers, scores

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"


class _Fake:
    def __init__(self, fmt: str, score: float) -> None:
        self.format = fmt
        self.score = score

    def detect(self, files: list[SourceFile]) -> float:
        return self.score

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        return ImportResult(format=self.format)


def test_registry_has_this_modules_importers() -> None:
    registry = load_importers()
    assert registry is IMPORTERS
    assert {"markdown", "json", "website"} <= set(registry)
    for fmt, importer in registry.items():
        assert importer.format == fmt
    assert get_importer("markdown").format == "markdown"
    with pytest.raises(ImportError_, match="unknown source format"):
        get_importer("no-such-format")


@pytest.mark.parametrize(
    "files,expected",
    [
        ([SourceFile("docs/guide.md", b"# Guide\n\n## Get Thing % GET /things/{id}\n")], "markdown"),
        ([SourceFile("docs/a.md", b"# A"), SourceFile("docs/b.markdown", b"text")], "markdown"),
        ([SourceFile("errors.json", json.dumps({"errors": [{"code": "x"}]}).encode())], "json"),
        ([SourceFile("https://docs.acme.test/", b"<!doctype html><html><body><h1>x</h1></body></html>")], "website"),
        ([SourceFile("page.html", b"<html><body><p>x</p></body></html>")], "website"),
    ],
)
def test_detects_own_formats(files: list[SourceFile], expected: str) -> None:
    fmt, confidence = detect_format(files)
    assert fmt == expected and 0 < confidence <= 1


def test_openapi_json_is_not_taken_for_generic_json() -> None:
    spec = json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}).encode()
    s = scores([SourceFile("openapi.json", spec)])
    assert s["json"] <= 0.05
    if "openapi" in IMPORTERS:
        assert detect_format([SourceFile("openapi.json", spec)])[0] == "openapi"


def test_nothing_recognised_and_ties(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImportError_, match="could not detect the format"):
        detect_format([SourceFile("blob.bin", b"\x00\x01\x02\x03")])
    with pytest.raises(ImportError_, match="no files"):
        detect_format([])
    load_importers()
    monkeypatch.setattr(detect, "IMPORTERS", {"a": _Fake("a", 0.5), "b": _Fake("b", 0.5), "c": _Fake("c", 0.2)})
    with pytest.raises(ImportError_, match="could not detect the format: a, b are equally likely"):
        detect_format([SourceFile("x", b"x")])
    monkeypatch.setattr(detect, "IMPORTERS", {"a": _Fake("a", 0.6), "b": _Fake("b", 0.5)})
    assert detect_format([SourceFile("x", b"x")]) == ("a", 0.6)


def test_broken_detector_and_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(_Fake):
        def detect(self, files: list[SourceFile]) -> float:
            raise RuntimeError("boom")

    load_importers()
    monkeypatch.setattr(detect, "IMPORTERS", {"broken": Broken("broken", 1), "ok": _Fake("ok", 0.4)})
    assert detect_format([SourceFile("x", b"x")]) == ("ok", 0.4)

    monkeypatch.setattr(detect, "IMPORTERS", {})
    monkeypatch.setattr(detect, "UNAVAILABLE", {})
    monkeypatch.setattr(detect, "_loaded", False)
    monkeypatch.setattr(detect, "IMPORTER_MODULES", ("markdown", "not_written_yet"))
    registry = detect.load_importers()
    assert set(registry) == {"markdown"}
    assert "not_written_yet" in detect.UNAVAILABLE


CORPUS_CASES = [
    ("markdown/discord", "markdown"),
    ("openapi/petstore-expanded-oas3.0.yaml", "openapi"),
    ("openapi/petstore-swagger2.0.json", "openapi"),
    ("postman/box-platform-api-collection.json", "postman"),
    ("graphql/github-schema.graphql", "graphql"),
    ("asyncapi/streetlights-mqtt-asyncapi.yml", "asyncapi"),
    ("proto/grpc-route_guide.proto", "grpc"),
    ("wsdl/numberConversion.wsdl", "wsdl"),
]


@pytest.mark.parametrize("rel,expected", CORPUS_CASES)
def test_corpus_files(rel: str, expected: str) -> None:
    path = CORPORA / rel
    if not path.exists():
        pytest.skip(f"{path} is not available")
    if expected not in load_importers():
        pytest.skip(f"the {expected} importer is not installed yet")
    paths = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    files = [SourceFile(p.name, p.read_bytes()) for p in paths]
    assert detect_format(files)[0] == expected

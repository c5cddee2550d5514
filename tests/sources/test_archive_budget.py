"""Decompression budgets that cannot be lied to (woes.core.decompression and its callers).

The bombs are built in the test, in milliseconds: a deflate stream of zeros repeats one byte-aligned
block after the first megabyte, so 1 GiB of output is ~1 MB of input. Zip sizes and gzip ISIZE are then
patched to tiny values; the code under test must count what it inflates and stop at its budget. The peak
memory of an extraction is measured in a child process (current RSS before, peak RSS after)."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import pytest
from test_sources_api import SPEC_V1, run_pending_scans, scan_of

from woes.config import reset_settings_cache
from woes.core.decompression import CHUNK, CorruptData, decode_content
from woes.core.errors import ProblemError
from woes.core.safefetch import FetchFailed, SafeFetcher
from woes.sources.service import MAX_FILES, expand_uploads

MiB = 1024 * 1024
GiB = 1024 * MiB
FILE_BUDGET = 25 * MiB  # the defaults of WOES_MAX_SOURCE_FILE_BYTES / WOES_MAX_SOURCE_BYTES
TOTAL_BUDGET = 50 * MiB
RSS_GROWTH_LIMIT_MB = 100


# --------------------------------------------------------------------------------------- bomb makers


@lru_cache
def zeros_deflate(mib: int, wbits: int) -> bytes:
    """`mib` MiB of zeros as one deflate stream (raw: wbits -15, gzip: 31; a gzip trailer covers only 2 MiB)."""
    block = b"\0" * MiB
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    steady = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    return first + steady * (mib - 1) + c.flush()


@lru_cache
def crc_of_zeros(mib: int) -> int:
    crc, block = 0, b"\0" * MiB
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return crc


def lying_zip(name: str, compressed: bytes, *, crc: int, declared: int) -> bytes:
    """A one-member zip (deflate) whose local header and central directory both declare `declared` bytes."""
    fname = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(compressed), declared, len(fname), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(compressed), declared,
                          len(fname), 0, 0, 0, 0, 0, 0) + fname
    body = local + fname + compressed
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(body), 0)
    return body + central + eocd


def zip_bomb_declaring_1000_bytes() -> bytes:
    """1 GiB of zeros written honestly (real CRC), then both size fields patched to say 1000 bytes."""
    return lying_zip("openapi.json", zeros_deflate(1024, -15), crc=crc_of_zeros(1024), declared=1000)


def gz_bomb_with_lying_isize(mib: int = 1024) -> bytes:
    stream = zeros_deflate(mib, 31)
    return stream[:-4] + struct.pack("<I", 100)  # ISIZE: "100 bytes"


@lru_cache
def _gzip_mib_of_zeros() -> bytes:
    return gzip.compress(b"\0" * MiB)


def tar_gz_of_zero_files(count: int, mib_each: int = 1) -> bytes:
    """A .tar.gz of `count` files of `mib_each` MiB of zeros, as concatenated gzip members (valid gzip)."""
    parts = []
    for i in range(count):
        info = tarfile.TarInfo(f"part{i:04d}.bin")
        info.size = mib_each * MiB
        parts.append(gzip.compress(info.tobuf(tarfile.USTAR_FORMAT)))
        parts.append(_gzip_mib_of_zeros() * mib_each)
    parts.append(gzip.compress(b"\0" * 1024))
    return b"".join(parts)


def tar_gz_with_a_1gib_pax_header() -> bytes:
    """A pax extended header that says it is 1 GiB long (and is: zeros), before a small real file."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = GiB
    return gzip.compress(info.tobuf(tarfile.USTAR_FORMAT)) + _gzip_mib_of_zeros() * 1024


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def expand(name: str, data: bytes, *, file_budget: int = FILE_BUDGET, total_budget: int = TOTAL_BUDGET):
    return expand_uploads([(name, io.BytesIO(data))], max_file_bytes=file_budget, max_total_bytes=total_budget)


def refusal(name: str, data: bytes, **budget) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        expand(name, data, **budget)
    assert info.value.errors and info.value.errors[0]["field"] == "file", info.value.errors
    return info.value


# ---------------------------------------------------------------------------- peak memory, measured

_CHILD = """
import json, sys, time
{imports}

def status_kb(field):  # VmRSS: resident now; VmHWM: the peak of this process's own memory
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

results = {{}}
for label, call in json.loads(sys.argv[1]).items():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak restarts from the current RSS, so each call is measured on its own
    start_kb = status_kb("VmRSS")
    t = time.perf_counter()
    try:
        exec(call)
        outcome = {{"refused": False}}
    except Exception as exc:
        outcome = {{"refused": True, "type": type(exc).__name__, "status": getattr(exc, "status", None),
                    "reason": getattr(exc, "error", None) or getattr(exc, "reason", None) or str(exc)}}
    outcome["seconds"] = time.perf_counter() - t
    outcome["start_mb"] = start_kb / 1024
    outcome["growth_mb"] = (status_kb("VmHWM") - start_kb) / 1024
    results[label] = outcome
print(json.dumps(results))
"""

# Not ru_maxrss: subprocess starts the child with vfork, and Linux carries the parent's (pytest's) peak
# over exec into the child's ru_maxrss. VmHWM belongs to the child's own address space.
requires_proc = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS is read from /proc")


def in_child(imports: str, calls: dict[str, str]) -> dict[str, dict]:
    """Run each call in one fresh interpreter: its outcome and its peak RSS growth (MB) over the RSS just before."""
    code = _CHILD.format(imports=textwrap.dedent(imports))
    done = subprocess.run([sys.executable, "-c", code, json.dumps(calls)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


BOMBS = {  # file name -> maker; every one is ~1 MB on disk and 1 GiB (or a million members) when believed
    "bomb.zip": zip_bomb_declaring_1000_bytes,
    "openapi.json.gz": gz_bomb_with_lying_isize,
    "specs.tar.gz": lambda: tar_gz_of_zero_files(1024),
    "specs.tgz": tar_gz_with_a_1gib_pax_header,
    "many.zip": lambda: central_directory_only_zip(1_000_000),
}


@pytest.fixture(scope="module")
def bomb_outcomes(tmp_path_factory) -> dict[str, dict]:
    """Every bomb through expand_uploads (as the upload routes call it), measured in one child process."""
    folder = tmp_path_factory.mktemp("bombs")
    calls = {}
    for name, make in BOMBS.items():
        (folder / name).write_bytes(make())
        calls[name] = (f"expand_uploads([({name!r}, open({str(folder / name)!r}, 'rb'))], max_file_bytes={FILE_BUDGET}, "
                       f"max_total_bytes={TOTAL_BUDGET})")
    return {"sizes": {name: (folder / name).stat().st_size for name in BOMBS}} | in_child(
        "from woes.sources.service import expand_uploads", calls)


def central_directory_only_zip(entries: int) -> bytes:
    """A zip whose central directory lists `entries` empty members (53 bytes each) and holds nothing else."""
    row = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0)
    directory = b"".join([row + b"%07d" % i for i in range(entries)])
    return directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(directory), 0, 0)


# ------------------------------------------------------------------------------- archives: lying headers


@requires_proc
def test_zip_bomb_declaring_small_sizes_is_refused_without_being_inflated(bomb_outcomes):
    got = bomb_outcomes["bomb.zip"]
    assert bomb_outcomes["sizes"]["bomb.zip"] < 1.2 * MiB
    assert got["refused"] and got["status"] == 422, got
    assert "not a valid zip archive ('openapi.json')" in got["reason"] and "CRC" in got["reason"], got
    assert got["growth_mb"] < RSS_GROWTH_LIMIT_MB, got
    assert got["seconds"] < 2, got


def test_zip_member_with_a_forged_crc_yields_no_more_than_its_declared_bytes():
    # The lie made consistent (CRC of the first 1000 bytes): the member is 1000 bytes and nothing more is inflated.
    bomb = lying_zip("big.bin", zeros_deflate(1024, -15), crc=zlib.crc32(b"\0" * 1000), declared=1000)
    t = time.perf_counter()
    assert expand("x.zip", bomb) == [("big.bin", b"\0" * 1000)]
    assert time.perf_counter() - t < 1


def test_zip_member_declared_larger_than_the_file_budget_is_refused_before_reading():
    bomb = lying_zip("big.bin", zeros_deflate(64, -15), crc=crc_of_zeros(64), declared=64 * MiB)
    err = refusal("x.zip", bomb)
    assert err.status == 413 and err.code == "payload_too_large"
    assert "'big.bin' is larger than the 25 MiB limit for one file" in err.error


@requires_proc
def test_gz_bomb_with_a_lying_isize_stops_at_the_file_budget(bomb_outcomes):
    got = bomb_outcomes["openapi.json.gz"]
    assert got["refused"] and got["status"] == 413, got
    assert "'openapi.json' is larger than the 25 MiB limit for one file" in got["reason"], got
    assert got["growth_mb"] < RSS_GROWTH_LIMIT_MB, got
    assert got["seconds"] < 2, got


@requires_proc
def test_tar_gz_bomb_of_many_files_stops_at_the_total_budget(bomb_outcomes):
    got = bomb_outcomes["specs.tar.gz"]  # 1 GiB in 1024 files that fit the file budget one by one
    assert bomb_outcomes["sizes"]["specs.tar.gz"] < 2 * MiB
    assert got["refused"] and got["status"] == 413, got
    assert "more than the 50 MiB limit in all" in got["reason"], got
    assert got["growth_mb"] < RSS_GROWTH_LIMIT_MB, got


@requires_proc
def test_tar_gz_with_a_1gib_pax_header_is_refused_within_the_budget(bomb_outcomes):
    got = bomb_outcomes["specs.tgz"]
    assert got["refused"] and got["status"] == 413, got
    assert f"An extended header of {GiB} bytes precedes" in got["reason"], got
    assert got["growth_mb"] < RSS_GROWTH_LIMIT_MB, got


def test_tar_chain_of_extended_headers_is_refused_not_crashed():
    headers = []
    for _ in range(5000):  # tarfile follows each pax header to the next one by recursion
        info = tarfile.TarInfo("././@PaxHeader")
        info.type, record = tarfile.XHDTYPE, b"11 a=bcdef\n"
        info.size = len(record)
        headers.append(info.tobuf(tarfile.USTAR_FORMAT) + record.ljust(512, b"\0"))
    err = refusal("chain.tar.gz", gzip.compress(b"".join(headers) + b"\0" * 1024))
    assert err.status == 422 and "too many extended headers in a row" in err.error


def test_tar_gz_member_declared_larger_than_the_file_budget_is_refused():
    info = tarfile.TarInfo("huge.bin")
    info.size = GiB
    bomb = gzip.compress(info.tobuf(tarfile.USTAR_FORMAT)) + _gzip_mib_of_zeros() * 2  # truncated: never read that far
    err = refusal("x.tar.gz", bomb)
    assert err.status == 413 and "'huge.bin' is larger than the 25 MiB limit for one file" in err.error


# ------------------------------------------------------------------------------- archives: count limits


@requires_proc
def test_zip_listing_a_million_members_is_refused_before_zipfile_parses_them(bomb_outcomes):
    # 53 MB of central directory: zipfile alone would build ~450 MB of ZipInfo objects from it.
    got = bomb_outcomes["many.zip"]
    assert got["refused"] and got["status"] == 422, got
    assert f"lists more entries than the {MAX_FILES} files a source may hold" in got["reason"], got
    assert got["growth_mb"] < RSS_GROWTH_LIMIT_MB and got["seconds"] < 1, got


def test_tar_with_more_folders_than_a_source_may_hold_is_refused():
    folders = [(_tar_member(f"d{i}/", tarfile.DIRTYPE), b"") for i in range(2 * MAX_FILES + 1)]
    err = refusal("dirs.tar.gz", tar_bytes(folders))
    assert err.status == 422 and f"At most {MAX_FILES} files (and as many folders) are accepted" in err.error


def test_zip_with_more_members_than_a_source_may_hold_is_refused():
    err = refusal("many.zip", zip_bytes({f"doc{i}.md": b"# x" for i in range(MAX_FILES + 1)}))
    assert err.status == 422 and f"At most {MAX_FILES} files are accepted" in err.error


def test_files_that_fit_alone_but_not_together_are_refused():
    members = {f"part{i}.bin": b"\0" * MiB for i in range(5)}
    err = refusal("parts.zip", zip_bytes(members), file_budget=2 * MiB, total_budget=3 * MiB)
    assert err.status == 413 and "more than the 3 MiB limit in all" in err.error
    # ... across several uploads of one request too
    with pytest.raises(ProblemError) as info:
        expand_uploads([("a.zip", io.BytesIO(zip_bytes({"a.bin": b"\0" * (2 * MiB)}))), ("b.bin", io.BytesIO(b"\0" * (2 * MiB)))],
                       max_file_bytes=2 * MiB, max_total_bytes=3 * MiB)
    assert info.value.status == 413
    # a plain (not archived) file over the file budget
    with pytest.raises(ProblemError) as info:
        expand_uploads([("spec.json", b"{}" + b" " * MiB)], max_file_bytes=MiB, max_total_bytes=3 * MiB)
    assert info.value.status == 413 and "'spec.json' is larger than the 1 MiB limit" in info.value.error


# ------------------------------------------------------------------------------ archives: unsafe members


def _tar_member(name: str, type_: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = type_, linkname
    return info


@pytest.mark.parametrize(("archive", "data", "why"), [
    ("up.zip", zip_bytes({"../../etc/cron.d/x": b"boom"}), "Unsafe file name '../../etc/cron.d/x'"),
    ("up.zip", zip_bytes({"docs/../../x": b"boom"}), "Unsafe file name 'docs/../../x'"),
    ("up.tar.gz", tar_bytes([(_tar_member("../escape.md"), b"# x")]), "Unsafe file name '../escape.md'"),
    ("up.tar", tar_bytes([(_tar_member("a/../../b.md"), b"# x")], mode="w"), "Unsafe file name 'a/../../b.md'"),
    ("up.tar.gz", tar_bytes([(_tar_member("link.md", tarfile.SYMTYPE, "/etc/passwd"), b"")]), "'link.md' is a link"),
    ("up.tar.gz", tar_bytes([(_tar_member("hard.md", tarfile.LNKTYPE, "other.md"), b"")]), "'hard.md' is a link"),
    ("up.tar.gz", tar_bytes([(_tar_member("dev", tarfile.CHRTYPE), b"")]), "'dev' is not a regular file"),
    ("up.tar.gz", tar_bytes([(_tar_member("fifo", tarfile.FIFOTYPE), b"")]), "'fifo' is not a regular file"),
    ("up.zip", b"PK\x03\x04 not really a zip", "up.zip is not a valid zip archive"),
    ("up.tar.gz", gzip.compress(b"not a tar at all" * 100), "up.tar.gz is not a valid tar archive"),
    ("up.json.gz", b"\x1f\x8b\x08\x00garbage", "up.json.gz is not a valid gzip file"),
], ids=lambda value: "archive" if isinstance(value, bytes) else None)  # gzip bytes carry a timestamp: not a stable test id
def test_unsafe_or_broken_archives_are_refused_naming_the_member(archive, data, why):
    err = refusal(archive, data)
    assert err.status == 422 and err.code == "validation_failed" and why in err.error, err.error


def test_zip_symlink_member_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("spec.yaml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    err = refusal("links.zip", buf.getvalue())
    assert err.status == 422 and "'spec.yaml' is a symbolic link" in err.error


def test_encrypted_zip_member_is_refused():
    data = bytearray(zip_bytes({"secret.md": b"# hidden"}))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag bit in both headers
        at = data.index(sig) + (6 if sig == b"PK\x03\x04" else 8)
        data[at] |= 0x1
    err = refusal("enc.zip", bytes(data))
    assert err.status == 422 and "'secret.md' is encrypted" in err.error


def test_nested_archives_are_stored_as_they_are_not_unpacked():
    inner = gz_bomb_with_lying_isize()  # 1 GiB when inflated; stored as its own ~1 MB
    files = expand("outer.zip", zip_bytes({"openapi.json.gz": inner, "inner.zip": zip_bomb_declaring_1000_bytes()}))
    assert [(p, len(d)) for p, d in files] == [("openapi.json.gz", len(inner)), ("inner.zip", len(zip_bomb_declaring_1000_bytes()))]


def test_nothing_is_left_in_the_temporary_folder(tmp_path, monkeypatch):  # refused or not
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    refusal("x.tar.gz", tar_gz_of_zero_files(8), file_budget=2 * MiB, total_budget=3 * MiB)
    assert expand("ok.tar.gz", tar_bytes([(_tar_member("a.md"), b"# A")])) == [("a.md", b"# A")]
    assert list(scratch.iterdir()) == []


def test_normal_archives_unpack_to_their_files():
    docs = {"docs/intro.md": b"# Intro", "openapi.yaml": SPEC_V1.encode()}
    tar_members = [(_tar_member(p), d) for p, d in docs.items()]
    for name, data in [("a.zip", zip_bytes(docs)), ("a.tar.gz", tar_bytes(tar_members)), ("a.tgz", tar_bytes(tar_members)),
                       ("a.tar", tar_bytes(tar_members, mode="w")), ("a.tar", tar_bytes(tar_members, mode="w:bz2")),
                       ("a.tar", tar_bytes(tar_members, mode="w:xz"))]:
        assert dict(expand(name, data)) == docs, name
    zdir = zip_bytes({"docs/": b"", "docs/a.md": b"# A", "/abs/b.md": b"# B"})  # folders skipped, leading / dropped
    assert expand("d.zip", zdir) == [("docs/a.md", b"# A"), ("abs/b.md", b"# B")]
    assert expand("openapi.yaml.gz", gzip.compress(SPEC_V1.encode())) == [("openapi.yaml", SPEC_V1.encode())]


# ------------------------------------------------------------------------------------- content codings


def test_decode_content_undoes_each_coding_in_bounded_pieces():
    text = b"hello world " * 50_000
    zlib_deflate, raw = zlib.compress(text), zlib.compress(text)[2:-4]
    double = gzip.compress(zlib.compress(text))  # "Content-Encoding: deflate, gzip": deflate applied first
    cases = [(gzip.compress(text), ["gzip"]), (gzip.compress(text), ["x-gzip"]), (zlib_deflate, ["deflate"]),
             (raw, ["deflate"]), (double, ["deflate", "gzip"]), (text, []), (text, ["identity"]), (text, ["br"])]
    for body, codings in cases:
        pieces = list(decode_content([body[i:i + 7000] for i in range(0, len(body), 7000)], codings))
        assert b"".join(pieces) == text, codings
        assert max(len(p) for p in pieces) <= CHUNK, codings
    assert b"".join(decode_content([gzip.compress(b"abc") + b"trailing junk"], ["gzip"])) == b"abc"  # as httpx does
    with pytest.raises(CorruptData):
        list(decode_content([b"\x1f\x8b\x08\x00" + b"\xff" * 100], ["gzip"]))


def test_decode_content_is_lazy_and_stops_when_the_reader_stops():
    bomb = zeros_deflate(1024, 31)
    produced = 0
    t = time.perf_counter()
    for piece in decode_content([bomb[i:i + 65536] for i in range(0, len(bomb), 65536)], ["gzip"]):
        produced += len(piece)
        if produced > MiB:
            break
    assert MiB < produced <= MiB + CHUNK and time.perf_counter() - t < 0.5


# -------------------------------------------------------------------------------- HTTP fetcher (live)


class _BombHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        coding = "deflate" if self.path.startswith("/deflate") else "gzip"
        body = zeros_deflate(1024, 31 if coding == "gzip" else 15)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client stopped reading: expected

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def bomb_server():
    zeros_deflate(1024, 31), zeros_deflate(1024, 15)  # built before the first request
    server = _QuietServer(("127.0.0.1", 0), _BombHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetcher_refuses_a_compressed_response_that_decodes_past_its_limit(bomb_server):
    with SafeFetcher(allowlist=[bomb_server], max_bytes=MiB) as fetcher:
        for path in ("/gzip/openapi.json", "/deflate/openapi.json"):
            t = time.perf_counter()
            with pytest.raises(FetchFailed) as info:
                fetcher.get(f"http://{bomb_server}{path}")
            assert info.value.kind == "too_large" and "larger than the 1.0 MB limit" in info.value.reason, path
            assert time.perf_counter() - t < 2, path


@requires_proc
def test_fetcher_memory_stays_flat_on_a_1gib_gzip_response(bomb_server):
    # httpx's own decoder inflates each 64 kB read at once (up to ~64 MB); the fetcher must not.
    got = in_child("from woes.core.safefetch import SafeFetcher", {
        "get": f"SafeFetcher(allowlist=[{bomb_server!r}], max_bytes={MiB}).get('http://{bomb_server}/gzip/spec.json')"})["get"]
    assert got["refused"] and got["type"] == "FetchFailed" and "larger than" in got["reason"], got
    assert got["growth_mb"] < 32, got


# ------------------------------------------------------------------------------------------ over the API


def test_api_refuses_bombs_with_a_problem_naming_the_field_and_creates_nothing(client, ws, runtime):
    r = client.post("/api/v1/sources", data={"name": "Bomb"}, files=[("file", ("bomb.zip", zip_bomb_declaring_1000_bytes()))],
                    headers=ws.headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["errors"][0]["field"] == "file" and "CRC" in r.json()["errors"][0]["message"]
    r = client.post("/api/v1/sources", data={"name": "Bomb"}, files=[("file", ("openapi.json.gz", gz_bomb_with_lying_isize()))],
                    headers=ws.headers)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large" and r.json()["errors"][0]["field"] == "file", r.text
    assert client.get("/api/v1/sources", headers=ws.headers).json()["sources"] == []
    # replacing the files of a source with a bomb leaves the source as it was
    good = client.post("/api/v1/sources", data={"name": "Good", "type": "openapi"},
                       files=[("file", ("openapi.yaml", SPEC_V1.encode()))], headers=ws.headers).json()
    run_pending_scans(runtime)
    r = client.put(f"/api/v1/sources/{good['id']}/files", files={"file": ("specs.tar.gz", tar_gz_of_zero_files(64))},
                   headers=ws.headers)
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "file", r.text
    scans = client.get(f"/api/v1/sources/{good['id']}/scans", headers=ws.headers).json()["scans"]
    assert len(scans) == 1 and scans[0]["status"] == "completed"
    assert len(client.get(f"/api/v1/sources/{good['id']}/endpoints", headers=ws.headers).json()["endpoints"]) == 3


def test_api_archives_of_specs_still_scan(client, ws, runtime):
    docs = {"openapi.yaml": SPEC_V1.encode()}
    uploads = [("a.zip", zip_bytes(docs)), ("a.tar.gz", tar_bytes([(_tar_member("openapi.yaml"), SPEC_V1.encode())])),
               ("openapi.yaml.gz", gzip.compress(SPEC_V1.encode()))]
    made = []
    for name, data in uploads:
        r = client.post("/api/v1/sources", data={"name": name, "type": "openapi"}, files=[("file", (name, data))],
                        headers=ws.headers)
        assert r.status_code == 201, r.text
        made.append(r.json())
    run_pending_scans(runtime)
    for src in made:
        scan = scan_of(client, ws, src)
        assert scan["status"] == "completed" and scan["counts"]["endpoints"] == 3, (src["name"], scan)


def test_url_source_serving_a_gzip_bomb_fails_its_scan_with_a_reason(client, ws, runtime, bomb_server, monkeypatch):
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", bomb_server)
    reset_settings_cache()
    try:
        r = client.post("/api/v1/sources", json={"name": "Remote", "type": "openapi", "url": f"http://{bomb_server}/gzip/openapi.json"},
                        headers=ws.headers)
        assert r.status_code == 201, r.text
        run_pending_scans(runtime)
        scan = scan_of(client, ws, r.json())
        assert scan["status"] == "failed" and "larger than the 10 MB limit" in scan["errors"][0]["reason"], scan
        assert client.get(f"/api/v1/sources/{r.json()['id']}", headers=ws.headers).json()["status"] == "failed"
    finally:
        os.environ.pop("WOES_OUTBOUND_ALLOWLIST", None)
        reset_settings_cache()

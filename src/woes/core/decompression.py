"""Bounded decompression: archives (zip, tar, tar.gz/.bz2/.xz), single gzip files and HTTP content codings.

The rule: count the bytes a decompressor actually produces and stop at the budget. The sizes an archive
declares (zip `file_size`, tar `size`, gzip ISIZE) are only ever used to refuse early, never to accept:
every read asks for at most `CHUNK` bytes (`zlib.decompressobj(...).decompress(data, max_length)`,
`ZipExtFile.read(n)`, `GzipFile.read(n)`), so one read can never expand a small input into gigabytes.

Archive members are streamed, one after the other, into a scratch file the caller owns (a
`tempfile.TemporaryFile`: never one bytes object, never a file named after the member, so a hostile name
cannot reach the file system, and nothing is left behind). Member names must be relative paths without `..`; links, devices, FIFOs, encrypted members and zip compression
methods other than stored/deflate are refused. Archives inside archives are not unpacked: they are files
like any other and count with their own (compressed) size.

Errors carry a `reason` sentence for an operator, the `member` it concerns and a stable `kind`:
`BudgetExceeded` (file_too_large, total_too_large, too_many_files, header_too_large), `UnsafeArchive` (unsafe_path, link,
special_file, encrypted, unsupported) and `CorruptData` (corrupt).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = [
    "CHUNK",
    "BudgetExceeded",
    "CorruptData",
    "DecompressionBudget",
    "DecompressionError",
    "ExtractionStorageError",
    "ExtractedFile",
    "UnsafeArchive",
    "archive_kind",
    "decode_content",
    "extract",
    "safe_member_path",
]

CHUNK = 64 * 1024  # the most any single decompression step may produce
# What a tar stream may hold beyond its files' bytes: a header block, an optional pax/long-name header
# and padding per member, plus the end-of-archive blocks and the record padding.
_TAR_OVERHEAD_PER_MEMBER = 4096
_TAR_OVERHEAD = 64 * 1024
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # zipfile reads bzip2/lzma members without max_length
# zipfile parses the whole central directory into ZipInfo objects (~450 bytes of memory per 53-byte entry)
# before the first member can be counted, so its size is checked first, with zipfile's own end-record reader.
_ZIP_DIRECTORY_BYTES_PER_FILE = 2048
_zip_end_record = zipfile._EndRecData  # the stdlib's EOCD/zip64 reader, not a parser of our own
# tarfile reads a pax or GNU long-name header into memory in one piece: a real one is a few hundred bytes.
_TAR_HEADER_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                     tarfile.GNUTYPE_LONGLINK)
MAX_TAR_EXTENDED_HEADER_BYTES = 1024 * 1024


# --------------------------------------------------------------------------------------------- errors


class DecompressionError(Exception):
    def __init__(self, reason: str, member: str = "", kind: str = "") -> None:
        super().__init__(reason)
        self.reason, self.member, self.kind = reason, member, kind


class BudgetExceeded(DecompressionError):
    """More bytes or files than the budget allows (counted as produced, not as declared)."""


class UnsafeArchive(DecompressionError):
    """A member that is refused on sight: a traversing name, a link, a device, an encrypted member."""


class CorruptData(DecompressionError):
    """The data is not a valid archive/stream, or a member does not match its header (CRC, sizes)."""


class ExtractionStorageError(RuntimeError):
    """The scratch file could not be written (disk full, permissions): the server's problem, not the input's."""


# --------------------------------------------------------------------------------------------- budget


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n} bytes"


@dataclass
class DecompressionBudget:
    """Limits for one extraction (share one instance across the archives and files of one upload)."""

    max_file_bytes: int
    max_total_bytes: int
    max_files: int
    used_bytes: int = 0
    files: int = 0
    entries: int = 0  # files and folders seen in archives

    def see_entry(self, path: str) -> None:
        """Every archive entry, folders included, counts against twice the file limit."""
        self.entries += 1
        if self.entries > 2 * self.max_files:
            raise BudgetExceeded(f"At most {self.max_files} files (and as many folders) are accepted.", path,
                                 "too_many_files")

    def start_file(self, path: str) -> None:
        if self.files >= self.max_files:
            raise BudgetExceeded(f"At most {self.max_files} files are accepted.", path, "too_many_files")
        self.files += 1

    def check_declared(self, path: str, declared: int) -> None:
        """Refuse early when a header already admits a member is too large (a lie the other way is caught by `spend`)."""
        if declared > self.max_file_bytes:
            raise BudgetExceeded(f"'{path}' is larger than the {_mb(self.max_file_bytes)} limit for one file.", path,
                                 "file_too_large")

    def spend(self, path: str, file_bytes: int, n: int) -> None:
        """`n` more bytes were produced for `path`, which now holds `file_bytes` bytes."""
        self.used_bytes += n
        if file_bytes > self.max_file_bytes:
            raise BudgetExceeded(f"'{path}' is larger than the {_mb(self.max_file_bytes)} limit for one file.", path,
                                 "file_too_large")
        if self.used_bytes > self.max_total_bytes:
            raise BudgetExceeded(f"The files hold more than the {_mb(self.max_total_bytes)} limit in all.", path,
                                 "total_too_large")


@dataclass(frozen=True)
class ExtractedFile:
    path: str  # the member's safe relative path
    offset: int  # where its bytes start in the scratch file
    size: int  # bytes actually produced

    def read(self, scratch: BinaryIO) -> bytes:
        scratch.seek(self.offset)
        return scratch.read(self.size)


def safe_member_path(name: str) -> str:
    """A member name as a relative POSIX path; raises UnsafeArchive for traversal, NUL or empty names."""
    path = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
    if not path or path == "." or path == ".." or path.startswith("../") or "\x00" in path:
        raise UnsafeArchive(f"Unsafe file name '{name}'.", name, "unsafe_path")
    return path[:1000]


def archive_kind(name: str) -> str | None:
    """"zip", "tar" (plain or gzip/bzip2/xz-compressed) or "gzip" (one compressed file) by file name; else None."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return "tar"
    if lower.endswith(".gz"):
        return "gzip"
    return None


# ---------------------------------------------------------------------------------------- extraction


def _copy(read: Callable[[int], bytes], path: str, scratch: BinaryIO, budget: DecompressionBudget) -> ExtractedFile:
    budget.start_file(path)
    try:
        offset = scratch.seek(0, io.SEEK_END)
    except OSError as exc:
        raise ExtractionStorageError(f"The scratch file failed: {exc}") from exc
    size = 0
    while True:
        block = read(CHUNK)
        if not block:
            break
        size += len(block)
        budget.spend(path, size, len(block))
        try:
            scratch.write(block)
        except OSError as exc:  # disk full: the server's problem, not a corrupt archive
            raise ExtractionStorageError(f"The scratch file failed: {exc}") from exc
    return ExtractedFile(path, offset, size)


def extract(source: BinaryIO, name: str, scratch: BinaryIO, budget: DecompressionBudget) -> list[ExtractedFile]:
    """Unpack the archive `name` (see `archive_kind`) from the seekable `source`, appending its files to `scratch`."""
    kind = archive_kind(name)
    if kind == "zip":
        return _extract_zip(source, name, scratch, budget)
    if kind == "tar":
        return _extract_tar(source, name, scratch, budget)
    if kind == "gzip":
        return _extract_gzip(source, name, scratch, budget)
    raise ValueError(f"{name} is not an archive name")


def _extract_zip(source: BinaryIO, name: str, scratch: BinaryIO, budget: DecompressionBudget) -> list[ExtractedFile]:
    out: list[ExtractedFile] = []
    member = ""
    try:
        end = _zip_end_record(source)
        if end is not None and end[zipfile._ECD_SIZE] > budget.max_files * _ZIP_DIRECTORY_BYTES_PER_FILE:
            raise BudgetExceeded(f"{name} lists more entries than the {budget.max_files} files a source may hold.", "",
                                 "too_many_files")
        source.seek(0)
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                member = info.filename
                budget.see_entry(member)
                if info.is_dir():
                    continue
                path = safe_member_path(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeArchive(f"{name}: '{path}' is a symbolic link; links are not accepted.", path, "link")
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    raise UnsafeArchive(f"{name}: '{path}' is not a regular file.", path, "special_file")
                if info.flag_bits & 0x1:
                    raise UnsafeArchive(f"{name}: '{path}' is encrypted.", path, "encrypted")
                if info.compress_type not in _ZIP_METHODS:
                    raise UnsafeArchive(f"{name}: '{path}' uses zip compression method {info.compress_type}; only "
                                        "stored and deflate members are accepted.", path, "unsupported")
                budget.check_declared(path, info.file_size)
                with zf.open(info) as fh:
                    out.append(_copy(fh.read, path, scratch, budget))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        where = f" ('{member}')" if member else ""
        raise CorruptData(f"{name} is not a valid zip archive{where}: {exc}.", member, "corrupt") from None
    return out


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses an extended (pax) or GNU long-name header larger than MAX_TAR_EXTENDED_HEADER_BYTES before
    tarfile reads it into memory. `_proc_member` is tarfile's documented hook for TarInfo subclasses."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _TAR_HEADER_TYPES and self.size > MAX_TAR_EXTENDED_HEADER_BYTES:
            raise BudgetExceeded(f"An extended header of {self.size} bytes precedes '{self.name}'; at most "
                                 f"{_mb(MAX_TAR_EXTENDED_HEADER_BYTES)} is accepted.", self.name, "header_too_large")
        return super()._proc_member(tarfile_)


class _CountedStream:
    """A read-only stream that refuses to deliver more than `limit` bytes in all (and asks for no more)."""

    def __init__(self, raw: BinaryIO, limit: int, name: str, shown_limit: int) -> None:
        self.raw, self.limit, self.name, self.delivered, self.shown_limit = raw, limit, name, 0, shown_limit

    def read(self, n: int = -1) -> bytes:
        room = self.limit - self.delivered + 1
        n = room if n is None or n < 0 else min(n, room)
        data = self.raw.read(n)
        self.delivered += len(data)
        if self.delivered > self.limit:
            raise BudgetExceeded(f"{self.name} unpacks to more than the {_mb(self.shown_limit)} limit in all.", "",
                                 "total_too_large")
        return data


def _tar_payload(source: BinaryIO) -> BinaryIO:
    head = source.read(6)
    source.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(source)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(source)  # type: ignore[return-value]
    return source


def _extract_tar(source: BinaryIO, name: str, scratch: BinaryIO, budget: DecompressionBudget) -> list[ExtractedFile]:
    out: list[ExtractedFile] = []
    # The whole decompressed stream (headers, skipped and refused members included) is counted.
    room = budget.max_total_bytes - budget.used_bytes + budget.max_files * _TAR_OVERHEAD_PER_MEMBER + _TAR_OVERHEAD
    payload = _tar_payload(source)
    stream = _CountedStream(payload, room, name, budget.max_total_bytes)
    member = ""
    try:
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo) as tf:  # type: ignore[call-overload]
            for info in tf:
                member = info.name
                budget.see_entry(member)
                if info.isdir():
                    continue
                path = safe_member_path(info.name)
                if info.issym() or info.islnk():
                    raise UnsafeArchive(f"{name}: '{path}' is a link; links are not accepted.", path, "link")
                if not info.isreg():
                    raise UnsafeArchive(f"{name}: '{path}' is not a regular file.", path, "special_file")
                budget.check_declared(path, info.size)
                fh = tf.extractfile(info)
                if fh is None:  # pragma: no cover - isreg() members always have a file object
                    continue
                out.append(_copy(fh.read, path, scratch, budget))
    except RecursionError:  # tarfile follows a chain of pax/long-name headers by recursion
        raise CorruptData(f"{name} is not a valid tar archive: too many extended headers in a row.", member,
                          "corrupt") from None
    except (tarfile.TarError, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError) as exc:
        where = f" ('{member}')" if member else ""
        raise CorruptData(f"{name} is not a valid tar archive{where}: {exc}.", member, "corrupt") from None
    finally:
        if payload is not source:
            payload.close()  # the decompressor only; `source` belongs to the caller
    return out


def _extract_gzip(source: BinaryIO, name: str, scratch: BinaryIO, budget: DecompressionBudget) -> list[ExtractedFile]:
    path = safe_member_path(name[: -len(".gz")] or "file")
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as fh:
            return [_copy(fh.read, path, scratch, budget)]
    except (zlib.error, EOFError, OSError) as exc:
        raise CorruptData(f"{name} is not a valid gzip file: {exc}.", path, "corrupt") from None


# ------------------------------------------------------------------------------ HTTP content codings

_GZIP_WBITS = zlib.MAX_WBITS | 16
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


def _inflate(chunks: Iterator[bytes], coding: str) -> Iterator[bytes]:
    """One content coding undone, in pieces of at most CHUNK bytes; data after the stream's end is ignored."""
    wbits = _GZIP_WBITS if coding in ("gzip", "x-gzip") else _ZLIB_WBITS
    d = zlib.decompressobj(wbits)
    first = True
    for data in chunks:
        while data and not d.eof:
            try:
                out = d.decompress(data, CHUNK)
            except zlib.error as exc:
                if first and wbits == _ZLIB_WBITS:  # "deflate" sent without its zlib wrapper, as some servers do
                    wbits, d = _RAW_DEFLATE_WBITS, zlib.decompressobj(_RAW_DEFLATE_WBITS)
                    first = False
                    continue
                raise CorruptData(f"invalid {coding} data: {exc}", "", "corrupt") from None
            first = False
            data = d.unconsumed_tail
            if out:
                yield out


def decode_content(chunks: Iterable[bytes], codings: Iterable[str]) -> Iterator[bytes]:
    """Undo HTTP `Content-Encoding`s (listed in the order applied) lazily, in pieces of at most CHUNK bytes.

    gzip, x-gzip and deflate are decoded; identity and codings this module does not know pass through
    unchanged (as httpx does). The caller counts the pieces and stops reading at its limit.
    """
    stream: Iterator[bytes] = iter(chunks)
    for coding in reversed([c.strip().lower() for c in codings if c.strip()]):
        if coding in ("gzip", "x-gzip", "deflate"):
            stream = _inflate(stream, coding)
    return stream

"""Offline sentence embeddings: all-MiniLM-L6-v2, int8 (dynamic, per-channel) ONNX, run by onnxruntime.

Run-time dependencies are only `onnxruntime`, `tokenizers` and `numpy`; there is no torch and no
network: the model and tokenizer are read from the package folder `embedding_model/` (made once by
`scripts/export_embedder.py`, see its manifest.json). Mean pooling and L2 normalisation are inside the
ONNX graph (output `sentence_embedding`); `embed()` re-normalises in float32 as a cheap guard.

    from woes.search.embedder import get_embedder
    emb = get_embedder()                      # lazy, thread-safe process singleton (1 intra-op thread)
    vecs = emb.embed(["chunk one", "chunk two"])  # float32, (n, 384), unit rows
    q = emb.embed_one("How do I paginate?")     # float32, (384,)
    emb.model_id                               # "minilm-l6-int8@<sha256[:12]>": store it with every vector

Threads: keep the default of 1 intra-op thread. A bulk job passes `embed(..., threads=N)`: N batches
run at once, one per core, which on this model and ~100-token chunks is ~1.2-1.5x faster than one batch
on N intra-op threads (bench/embedder.py). A query is one short batch: one thread is enough.
ORT thread spinning is off, so ORT does not busy-wait against OpenBLAS (numpy) on the same cores.

Notes:
- Texts are truncated to 256 WordPiece tokens (sentence-transformers' max_seq_length for this model).
  The tokenizer.json shipped by the source package says truncation 128 / padding Fixed 128; the
  settings are forced here whatever the file says.
- Dynamic int8 quantisation picks activation scales per batch tensor, so a text's vector depends a little
  on which other texts share its batch: cosine to its batch-of-one vector ~0.99 for sentences and chunks,
  down to ~0.96 for 0-2 word texts (all stay ~0.98-0.99 to the torch model). `embed()` sorts texts by
  token length before batching (less padding; similar lengths share batches), then restores order.
  `embed(texts, batch_size=1)` is batch-independent (identical to `embed_one`) and, for ~200-token
  chunks on this CPU, not slower (see bench/embedder.py).
- `embed()` blocks (CPU-bound; ORT releases the GIL): call it from async code via a thread pool.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

__all__ = ["DIM", "MAX_SEQ_LEN", "Embedder", "get_embedder"]

DIM = 384
MAX_SEQ_LEN = 256
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
MODEL_ID_PREFIX = "minilm-l6-int8"

log = logging.getLogger(__name__)


def _read_model_files(model_dir: str | Path | None) -> tuple[bytes, str, dict[str, Any]]:
    """Model bytes, tokenizer JSON text and manifest, from `model_dir` or from the package data."""
    if model_dir is None:
        base: Any = resources.files("woes.search").joinpath("embedding_model")
    else:
        base = Path(model_dir)
    model_bytes = base.joinpath(MODEL_FILE).read_bytes()
    tokenizer_json = base.joinpath(TOKENIZER_FILE).read_text(encoding="utf-8")
    manifest_file = base.joinpath(MANIFEST_FILE)
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else {}
    return model_bytes, tokenizer_json, manifest


class Embedder:
    """all-MiniLM-L6-v2 int8 ONNX embedder. Thread-safe: one instance can serve many threads."""

    dim: int = DIM
    max_seq_len: int = MAX_SEQ_LEN
    window_texts: int = 1024  # embed() tokenises and sorts this many texts at a time

    def __init__(self, model_dir: str | Path | None = None, *, intra_op_threads: int = 1, verify: bool = True) -> None:
        if intra_op_threads < 1:
            raise ValueError("intra_op_threads must be >= 1")
        model_bytes, tokenizer_json, manifest = _read_model_files(model_dir)
        digest = hashlib.sha256(model_bytes).hexdigest()
        expected = manifest.get("files", {}).get(MODEL_FILE, {}).get("sha256")
        if verify and expected and expected != digest:
            raise RuntimeError(f"embedding model {MODEL_FILE}: sha256 {digest} does not match manifest {expected}")
        if manifest and int(manifest.get("dims", DIM)) != DIM:
            raise RuntimeError(f"embedding model has {manifest.get('dims')} dims, expected {DIM}")
        self.sha256 = digest
        self.model_id = f"{MODEL_ID_PREFIX}@{digest[:12]}"
        self.manifest = manifest
        self.intra_op_threads = intra_op_threads

        tok = Tokenizer.from_str(tokenizer_json)
        # The packaged tokenizer.json may say truncation 128 + padding Fixed 128: override both.
        tok.enable_truncation(max_length=MAX_SEQ_LEN)
        tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # pad to the longest in the call
        self._tokenizer = tok
        self._sep_id = tok.token_to_id("[SEP]")
        if self._sep_id is None:
            raise RuntimeError("embedding tokenizer has no [SEP] token")

        self._model_bytes = model_bytes
        self._session = self._new_session()
        self._extra_sessions: list[ort.InferenceSession] = []  # for embed(threads=N): one more per extra thread
        self._sessions_lock = threading.Lock()
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._session.get_outputs()[0].name
        # tokenizers' Python objects are not documented as safe for concurrent calls; tokenisation is
        # cheap next to inference, so it is serialised. InferenceSession.run() is thread-safe.
        self._tok_lock = threading.Lock()

    def _new_session(self) -> ort.InferenceSession:
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.intra_op_threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        so.log_severity_level = 3
        return ort.InferenceSession(self._model_bytes, sess_options=so, providers=["CPUExecutionProvider"])

    def _sessions(self, n: int) -> list[ort.InferenceSession]:
        """n sessions of the same model. Threads that each run their own session do not share one memory
        arena: ~8% more throughput than n threads on one session (measured on 2 cores)."""
        with self._sessions_lock:
            while len(self._extra_sessions) < n - 1:
                self._extra_sessions.append(self._new_session())
            return [self._session, *self._extra_sessions[: n - 1]]

    def __repr__(self) -> str:
        return f"Embedder(model_id={self.model_id!r}, intra_op_threads={self.intra_op_threads})"

    def _tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        with self._tok_lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def _run(self, ids: np.ndarray, mask: np.ndarray, session: ort.InferenceSession | None = None) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (out,) = (session or self._session).run([self._output_name], feeds)
        return out

    def embed(self, texts: list[str], batch_size: int = 1, *, max_tokens: int | None = None, threads: int = 1) -> np.ndarray:
        """Embed `texts`; returns float32 (len(texts), 384) with L2-normalised rows, in input order.

        `max_tokens` truncates each text to that many WordPiece tokens ([CLS] and [SEP] included; at most
        256), exactly as the tokenizer's own truncation would. `threads` > 1 runs batches on that many
        threads at once (each `session.run` then uses its own core when the session has one intra-op
        thread: for a bulk of short texts this beats intra-op parallelism, which synchronises per layer).
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of strings; use embed_one() for a single text")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, not str")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if threads < 1:
            raise ValueError("threads must be >= 1")
        if max_tokens is not None and max_tokens < 2:
            raise ValueError("max_tokens must be >= 2 ([CLS] and [SEP])")
        limit = min(max_tokens or MAX_SEQ_LEN, MAX_SEQ_LEN)
        result = np.empty((len(texts), DIM), dtype=np.float32)
        if not texts:
            return result
        # Per window of texts: tokenise once (truncated, right-padded to the window's longest), sort by
        # real token length so each batch pads only to its own longest text, and write the rows back in
        # input order. Windows bound the memory of the token arrays for very long lists.
        window = max(batch_size, self.window_texts)
        sessions = self._sessions(threads)
        pool = ThreadPoolExecutor(threads, thread_name_prefix="embed") if threads > 1 else None
        try:
            for w0 in range(0, len(texts), window):
                ids, mask = self._tokenize(texts[w0 : w0 + window])
                lengths = mask.sum(axis=1)
                if ids.shape[1] > limit:
                    ids, mask = ids[:, :limit].copy(), mask[:, :limit]
                    ids[lengths > limit, limit - 1] = self._sep_id
                    lengths = np.minimum(lengths, limit)
                order = np.argsort(lengths, kind="stable")
                batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

                def run_share(k: int, ids: np.ndarray = ids, mask: np.ndarray = mask, lengths: np.ndarray = lengths,
                              batches: list[np.ndarray] = batches, base: int = w0) -> None:
                    # thread k takes every threads-th batch of the length-sorted list: equal shares of work
                    for idx in batches[k::threads]:
                        width = int(lengths[idx].max())
                        result[base + idx] = self._run(ids[idx, :width], mask[idx, :width], sessions[k])

                if pool is None:
                    run_share(0)
                else:
                    list(pool.map(run_share, range(threads)))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        norms = np.linalg.norm(result, axis=1, keepdims=True)
        np.maximum(norms, 1e-12, out=norms)
        result /= norms
        return result

    def embed_one(self, text: str) -> np.ndarray:
        """Embed one text (a query); returns float32 (384,), L2-normalised."""
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, not str")
        return self.embed([text], batch_size=1)[0]


_instance: Embedder | None = None
_instance_lock = threading.Lock()


def get_embedder(intra_op_threads: int | None = None) -> Embedder:
    """The process-wide Embedder, loaded from the package folder on first use (never from the network).

    The first call decides the thread count (default 1, for the API process; workers pass 2). A later
    call asking for a different count gets the existing instance unchanged.
    """
    global _instance
    inst = _instance
    if inst is None:
        with _instance_lock:
            inst = _instance
            if inst is None:
                inst = _instance = Embedder(intra_op_threads=intra_op_threads or 1)
                return inst
    if intra_op_threads is not None and intra_op_threads != inst.intra_op_threads:
        log.warning(
            "get_embedder(intra_op_threads=%d): already loaded with %d threads; keeping it",
            intra_op_threads,
            inst.intra_op_threads,
        )
    return inst

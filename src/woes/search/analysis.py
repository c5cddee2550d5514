"""Query analysis: what a question says, before anything is ranked.

`analyse(q)` finds literal paths (with their method), identifiers (`invoice.paid`, `createCustomer`,
`cancel_at_period_end`), the content words (`terms`), the methods the verbs ask for, collection or item
intent, the sentence(s) that ask (`focus_sentences`) and what their verbs act on (`verb_objects`). The
word helpers here (`stem`, `split_identifier`, `stem_match`, `QueryMatcher`) are shared by the ranking
stages and by the agents' field matching."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PATH_PATTERN = re.compile(r"(?:(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+)?(/[A-Za-z0-9_{}\-.:~/]+)", re.I)
IDENTIFIER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:]{1,2}[A-Za-z_][A-Za-z0-9_]*)*")
WORD_PATTERN = re.compile(r"[A-Za-z0-9_]+")
STOP_WORDS = set("""a an and are as at be been but by can could do does did for from get got has have how i if in into is it its
me my not of on or our should so than that the their them then there these they this to too us was we what when where
which while who why will with would you your yes no please help thanks hi hello want need trying try using use""".split())
VERB_METHODS = {
    "create": "POST", "add": "POST", "make": "POST", "send": "POST", "post": "POST", "new": "POST",
    "buy": "POST", "purchase": "POST", "pay": "POST", "book": "POST", "submit": "POST", "trigger": "POST",
    "register": "POST", "subscribe": "POST", "upload": "POST", "publish": "POST", "invite": "POST",
    "list": "GET", "get": "GET", "retrieve": "GET", "fetch": "GET", "read": "GET", "show": "GET", "search": "GET", "find": "GET",
    "update": "PATCH", "modify": "PATCH", "change": "PATCH", "edit": "PATCH", "set": "PUT", "replace": "PUT",
    "delete": "DELETE", "remove": "DELETE", "del": "DELETE", "destroy": "DELETE", "cancel": "DELETE",
}


# Words that point at one existing item rather than the collection.
ITEM_VERBS = {"update", "modify", "change", "edit", "cancel", "delete", "remove", "retrieve", "fetch", "end", "stop",
              "close", "hang", "void", "capture", "confirm", "refund", "merge", "archive", "restore", "replace"}
ITEM_WORDS = {"existing", "already", "specific", "earlier", "previously", "particular"}
# Verbs whose HTTP method varies by API: cancelling is a DELETE in some, a POST (status or action) in others.
ALSO_METHODS = {"cancel": "POST", "remove": "POST", "update": "POST", "modify": "POST", "change": "POST"}

COLLECTION_VERBS = {"create", "add", "new", "list", "listing", "place", "send", "upload", "make", "all"}


def base_verb(word: str) -> str:
    """Base form of a verb-like word: creates/created/creating → create, lists/listing → list."""
    for base in (word, word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith(("es", "ed")) else None,
                 word[:-1] if word.endswith("d") else None, word[:-3] if word.endswith("ing") else None,
                 word[:-3] + "e" if word.endswith("ing") else None):
        if base and (base in VERB_METHODS or base in COLLECTION_VERBS):
            return base
    return word


@dataclass
class QueryAnalysis:
    text: str
    terms: list[str]
    paths: list[tuple[str | None, str]] = field(default_factory=list)  # (method, path)
    identifiers: list[str] = field(default_factory=list)
    methods: set[str] = field(default_factory=set)
    collection_intent: bool = False
    item_intent: bool = False
    names_an_item: bool = False  # carries a concrete object id (`we_1NZDS6zmtogHmHGLVwIiSyC2`, `CA0123…`)
    focus_terms: list[str] = field(default_factory=list)  # the words of the sentence(s) that ask
    focus_methods: set[str] = field(default_factory=set)
    objects: set[str] = field(default_factory=set)  # stems of what the asking verbs act on ("create an issue" → issue)
    verbs: set[str] = field(default_factory=set)  # the asking sentence's verbs, base form ("buy", "capture")


def split_identifier(token: str) -> list[str]:
    """The lower-cased words of an identifier: `transfer_data.destination` → transfer, data, destination;
    `createPaymentIntent` → create, payment, intent."""
    parts = re.split(r"[._:]+", token)
    out = []
    for p in parts:
        out += [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", p)]
    return out


def stem(word: str) -> str:
    """Plural folding, lower-cased: invoices → invoice, policies → policy (not: address, status)."""
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if w.endswith(suffix) and len(w) > len(suffix) + 2 and not w.endswith("ss"):
            return w[: -len(suffix)] + repl
    return w


def stem_match(a: str, b: str) -> bool:
    """Same word up to an ending or an abbreviation: org ~ organization, review ~ reviewer, cancel ~ canceled."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 3 and long_.startswith(short) and (len(short) >= 5 or len(long_) - len(short) <= 9)


class QueryMatcher:
    """`asked(token)`: does the question use this word (up to an ending / abbreviation)? Memoized per query."""

    def __init__(self, stems: set[str]) -> None:
        self.stems = stems
        self.memo: dict[str, bool] = {}

    def __call__(self, token: str) -> bool:
        hit = self.memo.get(token)
        if hit is None:
            hit = self.memo[token] = token in self.stems or any(stem_match(token, w) for w in self.stems)
        return hit


def analyse(q: str) -> QueryAnalysis:
    a = QueryAnalysis(text=q, terms=[])
    for m in PATH_PATTERN.finditer(q):
        path = m.group(2).rstrip(".,:;)'`\"")
        if path.startswith("//"):  # inside a URL: keep the path after the host
            path = "/" + path[2:].split("/", 1)[1] if "/" in path[2:] else ""
        if path.count("/") >= 1 and len(path) > 1:
            a.paths.append(((m.group(1) or "").upper() or None, path))
    for tok in IDENTIFIER_PATTERN.findall(q):
        if _OBJECT_ID.match(tok):
            a.names_an_item = True  # an opaque id: one existing object, and no words to split out of it
            continue
        if any(sep in tok for sep in (".", "::")) or re.search(r"[a-z][A-Z]", tok) or "_" in tok:
            a.identifiers.append(tok)
    words, a.methods = _content_words(q)
    for w in WORD_PATTERN.findall(q):
        lw = w.lower()
        verb = base_verb(lw)
        a.collection_intent = a.collection_intent or verb in COLLECTION_VERBS
        a.item_intent = a.item_intent or verb in ITEM_VERBS or lw in ITEM_WORDS
    for ident in a.identifiers:
        words += [w for w in split_identifier(ident) if w not in STOP_WORDS and len(w) > 1]
        if ident.split(".")[-1].split("::")[-1].lower() in VERB_METHODS:
            a.methods.add(VERB_METHODS[ident.split(".")[-1].split("::")[-1].lower()])
    seen: set[str] = set()
    a.terms = [w for w in words if not (w in seen or seen.add(w))][:40]
    focus = focus_sentences(q)
    if focus != q:
        a.focus_terms, a.focus_methods = _content_words(focus)
        for ident in IDENTIFIER_PATTERN.findall(focus):
            if ident in a.identifiers:
                a.focus_terms += [w for w in split_identifier(ident) if w not in STOP_WORDS and len(w) > 1]
    else:
        a.focus_terms, a.focus_methods = list(a.terms), set(a.methods)
    a.objects = verb_objects(focus)
    a.verbs = {base_verb(w.lower()) for w in WORD_PATTERN.findall(focus)
               if base_verb(w.lower()) in _OBJECT_VERBS or w.lower() in ITEM_VERBS}
    for m in re.finditer(r"([A-Za-z]{3,})\s+[`'\"]?([A-Za-z0-9_]{14,})", q):
        if _OBJECT_ID.match(m.group(2)) and m.group(1).lower() not in STOP_WORDS:
            a.objects.add(stem(m.group(1).lower()))  # "our endpoint we_1NZ…": the id's kind
    return a


def _content_words(text_: str) -> tuple[list[str], set[str]]:
    """The words that carry meaning (no stop words, no opaque ids) and the methods their verbs ask for."""
    words: list[str] = []
    methods: set[str] = set()
    for w in WORD_PATTERN.findall(text_):
        if _OBJECT_ID.match(w):
            continue
        lw = w.lower()
        verb = base_verb(lw)
        methods |= {table[verb] for table in (VERB_METHODS, ALSO_METHODS) if verb in table}
        if lw not in STOP_WORDS and len(lw) > 1:
            words.append(lw)
    return words, methods


_DETERMINERS = set("""a an the my our your their its his her this that these those some any all every each one two
several only new existing specific single multiple more another same given certain particular""".split())
_OBJECT_VERBS = set(VERB_METHODS) | ITEM_VERBS | COLLECTION_VERBS | {
    "iterate", "paginate", "page", "attach", "assign", "give", "open", "download", "query", "listing", "generate", "obtain",
    "produce", "build", "start", "run", "export", "import", "verify", "validate", "share", "schedule"}


_OBJECT_ID = re.compile(r"^(?:[a-z]{1,8}_[A-Za-z0-9]{12,}|[A-Z]{2}[0-9a-f]{32})$")
_DOTTED_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:[.:][A-Za-z0-9_]+)*")


def verb_objects(text_: str) -> set[str]:
    """What the verbs of a sentence act on: 'create an issue' → issue, 'listing customers' → customer,
    'capture the PaymentIntent' → paymentintent (the first two words after the verb and its determiners;
    an identifier such as `invoice.paid` names a value, not a resource)."""
    words = _DOTTED_TOKEN.findall(text_)
    out: set[str] = set()
    for i, w in enumerate(words):
        if base_verb(w.lower()) not in _OBJECT_VERBS or (i and words[i - 1].lower() in ("a", "an", "the", "that", "which", "who")):
            continue  # "a new list" is a noun, not a verb; "the link that sends …" is not what is asked
        j = i + 1
        while j < len(words) and words[j].lower() in _DETERMINERS:
            j += 1
        for k in range(j, min(j + 2, len(words))):
            lw = words[k].lower()
            if (lw in STOP_WORDS or lw in _DETERMINERS or len(lw) < 3 or lw.isdigit() or base_verb(lw) in _OBJECT_VERBS
                    or re.search(r"[._:]", lw)):
                break
            out.add(stem(lw))
    return out


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z`'\"(])|\n+")
_ASKING = re.compile(r"^\W*(how|what|which|where|why|when|can|could|is|are|does|do|should|will|would|may|any|whats|what's)\b", re.I)


def focus_sentences(q: str) -> str:
    """The sentence(s) that ask, as opposed to those that set the scene: 'I create a session with line_items.
    After payment … `display_items` is undefined. How do I get the items that were just bought?' asks the
    last one. Sentences ending in '?' or opening with an interrogative; the whole text when none does."""
    sentences = [x.strip() for x in _SENTENCE_END.split(q) if x.strip()]
    asking = [x for x in sentences if x.endswith("?") or _ASKING.match(x)]
    return " ".join(asking) if asking and len(asking) < len(sentences) else q

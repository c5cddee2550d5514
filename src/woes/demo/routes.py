"""`GET /demo`: the sample customer site with the widget (woes.demo.site); `GET /demo/console`: a self-contained
developer page to ask an agent a question with a pasted API key (SPEC §13).

Public like /healthz (it is outside /api/v1, where the API-key middleware applies) because it holds nothing:
the page is static apart from a per-response CSP nonce. The visitor pastes a key, kept in the tab's
sessionStorage only; the page calls `POST /api/v1/agents/{id}/answer` with it, same-origin. The agent comes
from `?agent=<id>` or, without it, from `GET /api/v1/agents`. Everything rendered goes through
`textContent` / `createElement` (no innerHTML), so answer text and citations cannot inject markup."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from woes.access.deps import ReadDB
from woes.demo import site
from woes.demo.service import demo_widget_key

router = APIRouter(tags=["demo"])


def content_security_policy(nonce: str) -> str:
    return ("default-src 'none'; "
            f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


@router.get("/demo", include_in_schema=False)
def demo_site(db: ReadDB) -> HTMLResponse:
    nonce = secrets.token_urlsafe(18)
    return HTMLResponse(site.render(nonce, demo_widget_key(db)), headers=_headers(site.content_security_policy(nonce)))


@router.get("/demo/console", include_in_schema=False)
def demo_console() -> HTMLResponse:
    nonce = secrets.token_urlsafe(18)
    return HTMLResponse(PAGE.replace("__NONCE__", nonce), headers=_headers(content_security_policy(nonce)))


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Woes demo: ask the agent</title>
<link rel="icon" href="data:,">
<style nonce="__NONCE__">
  :root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f6f7fa; --card:#fff; --accent:#3346d3;
          --ok:#17804a; --warn:#a76200; --bad:#b3261e; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
  main { max-width:820px; margin:0 auto; padding:24px 16px 64px; }
  h1 { font-size:22px; margin:0 0 4px; }
  .sub { color:var(--muted); margin:0 0 20px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px; margin-bottom:16px; }
  label { display:block; font-weight:600; margin-bottom:6px; }
  input, textarea, select { width:100%; font:inherit; padding:8px 10px; border:1px solid var(--line); border-radius:8px; background:#fff; }
  textarea { min-height:84px; resize:vertical; }
  .row { display:flex; gap:8px; align-items:center; margin-top:8px; flex-wrap:wrap; }
  button { font:inherit; padding:8px 14px; border-radius:8px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
  button.secondary { background:#fff; color:var(--accent); }
  button:disabled { opacity:.55; cursor:default; }
  .hint { color:var(--muted); font-size:13px; }
  .chips button { background:#eef0fb; color:var(--accent); border-color:#d6dbf6; font-size:13px; padding:4px 10px; }
  .badge { display:inline-block; padding:2px 10px; border-radius:999px; font-size:13px; font-weight:600; color:#fff; }
  .answer { background:var(--ok); } .clarify { background:var(--warn); } .handoff { background:var(--bad); }
  .meta { color:var(--muted); font-size:13px; margin-left:8px; }
  .text { white-space:pre-wrap; margin:12px 0; }
  .text code, .cites code { background:#f0f2f6; padding:1px 4px; border-radius:4px; font-size:13px; }
  pre { background:#1d2330; color:#e9edf5; padding:12px; border-radius:8px; overflow:auto; white-space:pre; }
  .text pre code { background:none; padding:0; color:inherit; font-size:13px; }
  a.cite { text-decoration:none; font-weight:600; color:var(--accent); }
  ol.cites { padding-left:22px; margin:8px 0 0; } ol.cites li { margin:4px 0; } ol.cites li:target { background:#fff7d6; }
  .method { font-family:ui-monospace,Menlo,Consolas,monospace; font-weight:700; font-size:12px; margin-right:6px; }
  .error { color:var(--bad); }
  .greeting { border-left:3px solid var(--accent); padding-left:10px; color:var(--muted); }
  [hidden] { display:none !important; }
</style>
</head>
<body>
<main>
  <h1>Ask the demo agent</h1>
  <p class="sub">Answers come only from the API sources attached to the agent, with citations, a confidence signal,
  and a handoff to a person when the evidence is not there.</p>

  <section class="card" id="key-card">
    <label for="key">API key</label>
    <input id="key" type="password" autocomplete="off" spellcheck="false" placeholder="woesk_… (printed by woes demo)">
    <div class="row">
      <button id="save-key" type="button">Use this key</button>
      <button id="forget-key" type="button" class="secondary" hidden>Forget key</button>
      <span class="hint" id="key-state">The key stays in this browser tab (sessionStorage); this page never sends it anywhere but this server's API.</span>
    </div>
  </section>

  <section class="card" id="agent-card" hidden>
    <label for="agent">Agent</label>
    <select id="agent"></select>
    <p class="greeting" id="greeting" hidden></p>
  </section>

  <section class="card" id="ask-card">
    <label for="question">Your question</label>
    <textarea id="question" maxlength="8000" placeholder="How do I buy a label for a shipment?"></textarea>
    <div class="row chips" id="examples">
      <span class="hint">Try:</span>
      <button type="button">How do I buy a label for a shipment?</button>
      <button type="button">How do I paginate through shipments?</button>
      <button type="button">How do I verify the webhook signature?</button>
      <button type="button">How much does Parcelpost cost per month?</button>
    </div>
    <div class="row">
      <button id="ask" type="button">Ask</button>
      <span class="hint" id="status" role="status" aria-live="polite"></span>
    </div>
  </section>

  <section class="card" id="result" hidden aria-live="polite">
    <div><span class="badge" id="outcome"></span><span class="meta" id="confidence"></span><span class="meta" id="latency"></span></div>
    <p class="text" id="handoff" hidden></p>
    <div class="text" id="text"></div>
    <div id="cites-wrap" hidden><strong>Citations</strong><ol class="cites" id="cites"></ol></div>
  </section>
</main>
<script nonce="__NONCE__">
(function () {
  "use strict";
  var STORE = "woes-demo-key";
  var $ = function (id) { return document.getElementById(id); };
  var key = null;
  try { key = sessionStorage.getItem(STORE); } catch (e) { key = null; }
  var params = new URLSearchParams(location.search);
  var wantedAgent = params.get("agent");
  var UUID = /^[0-9a-fA-F-]{36}$/;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function setStatus(msg, isError) { var s = $("status"); s.textContent = msg || ""; s.className = isError ? "hint error" : "hint"; }

  function api(method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + key, "Accept": "application/json" },
                 credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var msg = (data && (data.error || data.detail || data.title)) || ("HTTP " + r.status);
          var err = new Error(String(msg)); err.status = r.status; throw err;
        }
        return data;
      });
    });
  }

  function showKeyState() {
    $("forget-key").hidden = !key;
    $("key").value = "";
    $("key").placeholder = key ? "A key is set for this tab" : "woesk_… (printed by woes demo)";
  }

  function loadAgents() {
    if (!key) { return; }
    api("GET", "/api/v1/agents?limit=100").then(function (data) {
      var agents = (data && data.agents) || [];
      var sel = $("agent"); clear(sel);
      agents.forEach(function (a) {
        var o = el("option", null, a.name); o.value = a.id; o.dataset.greeting = a.greeting || ""; sel.appendChild(o);
      });
      if (wantedAgent && UUID.test(wantedAgent)) {
        var found = agents.some(function (a) { return a.id === wantedAgent; });
        if (found) { sel.value = wantedAgent; }
      }
      $("agent-card").hidden = agents.length === 0;
      showGreeting();
      if (!agents.length) { setStatus("This workspace has no agent yet.", true); }
      else { setStatus(""); }
    }).catch(function (e) {
      setStatus(e.status === 401 ? "That key was not accepted." : ("Could not list agents: " + e.message), true);
    });
  }

  function showGreeting() {
    var sel = $("agent"), g = $("greeting");
    var opt = sel.options[sel.selectedIndex];
    var text = opt ? opt.dataset.greeting : "";
    g.textContent = text || ""; g.hidden = !text;
  }

  function agentId() {
    var sel = $("agent");
    if (sel.value) { return sel.value; }
    return wantedAgent && UUID.test(wantedAgent) ? wantedAgent : null;
  }

  // Prose with `code` spans and [n] citation links; ``` fences become <pre>. Text nodes only.
  function renderText(container, text) {
    clear(container);
    var parts = String(text || "").split("```");
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var body = part.replace(/^[A-Za-z0-9_+-]*\\n/, "");
        var pre = el("pre"); pre.appendChild(el("code", null, body.replace(/\\n$/, ""))); container.appendChild(pre);
        return;
      }
      if (i > 0) { part = part.replace(/^\\n/, ""); }
      if (i < parts.length - 1) { part = part.replace(/\\n$/, ""); }
      var re = /`([^`\\n]+)`|\\[(\\d{1,3})\\]/g, last = 0, m;
      while ((m = re.exec(part)) !== null) {
        if (m.index > last) { container.appendChild(document.createTextNode(part.slice(last, m.index))); }
        if (m[1] !== undefined) { container.appendChild(el("code", null, m[1])); }
        else {
          var a = el("a", "cite", "[" + m[2] + "]"); a.href = "#cite-" + m[2]; container.appendChild(a);
        }
        last = re.lastIndex;
      }
      if (last < part.length) { container.appendChild(document.createTextNode(part.slice(last))); }
    });
  }

  function renderCitations(cites) {
    var list = $("cites"); clear(list);
    (cites || []).forEach(function (c, i) {
      var n = Number.isInteger(c.n) ? c.n : i + 1;
      var li = el("li"); li.id = "cite-" + n; li.value = n;
      if (c.method) { li.appendChild(el("span", "method", c.method)); }
      if (c.path) { li.appendChild(el("code", null, c.path)); }
      else if (c.operationKey) { li.appendChild(el("code", null, c.operationKey)); }
      if (c.title) { li.appendChild(document.createTextNode(" — " + c.title)); }
      list.appendChild(li);
    });
    $("cites-wrap").hidden = !(cites && cites.length);
  }

  function renderRun(run) {
    $("result").hidden = false;
    var badge = $("outcome");
    badge.textContent = run.outcome || "?";
    badge.className = "badge " + (["answer", "clarify", "handoff"].indexOf(run.outcome) >= 0 ? run.outcome : "");
    var conf = run.confidence || {};
    var score = typeof conf.score === "number" ? conf.score.toFixed(2) : "–";
    $("confidence").textContent = "confidence " + (conf.label || "?") + " (" + score + ")";
    $("latency").textContent = typeof run.latencyMs === "number" ? Math.round(run.latencyMs) + " ms" : "";
    var h = $("handoff");
    if (run.handoff && run.handoff.reason) { h.textContent = "Handed off: " + run.handoff.reason; h.hidden = false; }
    else { h.textContent = ""; h.hidden = true; }
    renderText($("text"), run.text);
    renderCitations(run.citations);
  }

  function ask() {
    var q = $("question").value.trim();
    if (!key) { setStatus("Paste the API key printed by woes demo first.", true); $("key").focus(); return; }
    if (!q) { setStatus("Type a question.", true); $("question").focus(); return; }
    var id = agentId();
    if (!id) { setStatus("No agent to ask.", true); return; }
    $("ask").disabled = true; setStatus("Asking…");
    api("POST", "/api/v1/agents/" + encodeURIComponent(id) + "/answer", { question: q }).then(function (run) {
      setStatus(""); renderRun(run);
    }).catch(function (e) {
      setStatus(e.status === 401 ? "That key was not accepted." : e.message, true);
    }).then(function () { $("ask").disabled = false; });
  }

  $("save-key").addEventListener("click", function () {
    var v = $("key").value.trim();
    if (!v) { setStatus("Paste a key first.", true); return; }
    key = v;
    try { sessionStorage.setItem(STORE, v); } catch (e) { /* memory only */ }
    showKeyState(); loadAgents();
  });
  $("key").addEventListener("keydown", function (ev) { if (ev.key === "Enter") { $("save-key").click(); } });
  $("forget-key").addEventListener("click", function () {
    key = null;
    try { sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
    showKeyState(); $("agent-card").hidden = true; $("result").hidden = true; setStatus("");
  });
  $("agent").addEventListener("change", showGreeting);
  $("ask").addEventListener("click", ask);
  $("question").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ask(); }
  });
  Array.prototype.forEach.call($("examples").querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () { $("question").value = b.textContent; ask(); });
  });
  showKeyState();
  loadAgents();
})();
</script>
</body>
</html>
"""

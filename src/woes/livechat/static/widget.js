/*!
 * Woes live-chat widget — one static, dependency-free script (ES2019).
 *
 * Install:
 *   <script>
 *     window.Woes = window.Woes || function () { (window.Woes.q = window.Woes.q || []).push(arguments); };
 *   </script>
 *   <script async src="https://HOST/widget.js" data-public-key="trovw_..."
 *           data-api="https://HOST/api/widget/messages"></script>
 *
 * Then call window.Woes(command, payload): show, hide, onShow, onHide, hideChatBubble, showChatBubble,
 * setTheme, onChangeUnreadMessagesCount, identify, setNewConversationFields, showNewMessage,
 * showTicketForm, setTicketFormFields, setVisibleTicketForms, setContext.
 *
 * Everything renders inside a Shadow DOM on <div id="woes-widget">. Server and visitor text is only ever
 * put into the page as text nodes (never innerHTML). Nothing but window.Woes is defined globally.
 */
(function () {
  "use strict";

  const w = window;
  const d = document;
  const previous = w.Woes;
  if (typeof previous === "function" && previous.__woes) return; // the script was included twice

  // ------------------------------------------------------------------ logging
  const warned = Object.create(null);
  function warn(msg) {
    if (w.console && typeof w.console.warn === "function") w.console.warn("[Woes] " + msg);
  }
  function warnOnce(key, msg) {
    if (warned[key]) return;
    warned[key] = true;
    warn(msg);
  }

  // ------------------------------------------------------------------ the script tag and the API base
  const current = d.currentScript;
  const script = current && current.hasAttribute && current.hasAttribute("data-public-key")
    ? current
    : d.querySelector("script[data-public-key]");
  const publicKey = script ? String(script.getAttribute("data-public-key") || "").trim() : "";
  const base = (function () {
    const attr = script && script.getAttribute("data-api");
    let url = "";
    try {
      if (attr && attr.trim()) url = new URL(attr.trim(), d.baseURI).href;
      else if (script && script.src) url = new URL("/api/widget", script.src).href;
    } catch (_) {
      url = "";
    }
    return url.replace(/\/+$/, "").replace(/\/messages$/, "");
  })();

  // ------------------------------------------------------------------ the command queue
  const pending = previous && previous.q && typeof previous.q.length === "number"
    ? Array.prototype.slice.call(previous.q)
    : [];
  let ready = false;
  function Woes() {
    const args = Array.prototype.slice.call(arguments);
    if (ready) run(args);
    else pending.push(args);
  }
  Object.defineProperty(Woes, "__woes", { value: true });
  w.Woes = Woes;

  const disabled = !publicKey || !base;
  if (disabled) {
    warn(!publicKey
      ? "widget.js needs a data-public-key attribute on its <script> tag; the chat is off."
      : "widget.js could not work out the API address (data-api); the chat is off.");
  }

  function run(args) {
    const name = args[0];
    if (disabled) return;
    const fn = typeof name === "string" && Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : null;
    if (!fn) {
      const label = typeof name === "string" ? name : typeof name;
      warnOnce("cmd:" + label, 'unknown command "' + label + '" (ignored).');
      return;
    }
    try {
      fn(args[1]);
    } catch (e) {
      warn('command "' + name + '" failed: ' + (e && e.message ? e.message : e));
    }
  }

  // ------------------------------------------------------------------ persistence
  const storeKey = "woes:" + publicKey;
  const ls = (function () {
    try {
      const s = w.localStorage;
      const probe = "woes:__probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (_) {
      return null; // private mode, blocked storage, sandboxed frame: keep everything in memory
    }
  })();

  function randomId() {
    const b = new Uint8Array(16);
    const c = w.crypto || w.msCrypto;
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; // RFC 4122 version 4
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function str(v) {
    return v == null ? "" : String(v);
  }

  function loadStore() {
    let raw = null;
    if (ls) {
      try {
        raw = JSON.parse(ls.getItem(storeKey) || "null");
      } catch (_) {
        raw = null;
      }
    }
    if (!raw || typeof raw !== "object") raw = {};
    const s = {
      visitorId: typeof raw.visitorId === "string" && raw.visitorId ? raw.visitorId : randomId(),
      conversationId: typeof raw.conversationId === "string" ? raw.conversationId : null,
      conversationSecret: typeof raw.conversationSecret === "string" ? raw.conversationSecret : null,
      conversations: [],
      unread: typeof raw.unread === "number" && raw.unread > 0 ? Math.floor(raw.unread) : 0,
      marks: raw.marks && typeof raw.marks === "object" ? raw.marks : {},
    };
    if (Array.isArray(raw.conversations)) {
      raw.conversations.forEach((c) => {
        if (c && typeof c.id === "string" && typeof c.secret === "string") {
          s.conversations.push({
            id: c.id, secret: c.secret, subject: c.subject || null, status: c.status || null, lastMessageAt: c.lastMessageAt || null,
          });
        }
      });
    }
    if (!s.conversationId || !s.conversationSecret) {
      s.conversationId = null;
      s.conversationSecret = null;
    }
    return s;
  }

  const store = disabled ? null : loadStore();

  function save() {
    if (!ls || !store) return;
    const known = {};
    store.conversations.forEach((c) => { known[c.id] = true; });
    Object.keys(store.marks).forEach((k) => { if (!known[k]) delete store.marks[k]; });
    try {
      ls.setItem(storeKey, JSON.stringify(store));
    } catch (_) {
      /* quota or blocked: the in-memory copy still works for this page */
    }
  }

  function knownConversation(id) {
    for (const c of store.conversations) if (c.id === id) return c;
    return null;
  }

  function rememberConversation(info) {
    if (!info || !info.id) return;
    const id = String(info.id);
    let k = knownConversation(id);
    if (!k) {
      k = { id, secret: null, subject: null, status: null, lastMessageAt: null };
      store.conversations.push(k);
    }
    if (info.secret) k.secret = String(info.secret);
    if (info.subject !== undefined) k.subject = info.subject || null;
    if (info.status !== undefined) k.status = info.status || null;
    if (info.lastMessageAt !== undefined) k.lastMessageAt = info.lastMessageAt || null;
    if (store.conversations.length > 50) {
      store.conversations.sort((a, b) => ts(b.lastMessageAt) - ts(a.lastMessageAt));
      store.conversations.length = 50;
    }
    save();
  }

  function forgetConversation(id) {
    store.conversations = store.conversations.filter((c) => c.id !== id);
    delete store.marks[id];
    if (store.conversationId === id) {
      store.conversationId = null;
      store.conversationSecret = null;
    }
    save();
  }

  // ------------------------------------------------------------------ HTTP
  function problem(status, data, fallback) {
    const detail = data && typeof data.detail === "string" && data.detail
      ? data.detail
      : data && typeof data.title === "string" && data.title ? data.title : fallback;
    const err = new Error(detail);
    err.status = status;
    err.detail = detail;
    err.errors = data && Array.isArray(data.errors) ? data.errors : [];
    return err;
  }

  async function api(method, path, body, secret) {
    const headers = { "X-Woes-Public-Key": publicKey, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (secret) headers["X-Woes-Conversation-Secret"] = secret;
    let res;
    try {
      res = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        mode: "cors",
        cache: "no-store",
      });
    } catch (_) {
      throw problem(0, null, "We couldn't reach the chat service. Check your connection and try again.");
    }
    let data = null;
    let text = "";
    try {
      text = await res.text();
    } catch (_) {
      text = "";
    }
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) throw problem(res.status, data, "Something went wrong (" + res.status + "). Please try again.");
    return data;
  }

  function enc(id) {
    return encodeURIComponent(id);
  }

  // ------------------------------------------------------------------ small helpers
  function ts(iso) {
    const t = iso ? Date.parse(iso) : NaN;
    return isNaN(t) ? 0 : t;
  }

  function safeUrl(u) {
    if (typeof u !== "string" || !u) return null;
    try {
      const url = new URL(u);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function call(cb, arg) {
    if (typeof cb !== "function") return;
    try {
      cb(arg);
    } catch (e) {
      setTimeout(() => { throw e; }, 0); // the host's callback failed: report it as theirs, keep going
    }
  }

  function h(tag, props, children) {
    const el = d.createElement(tag);
    if (props) {
      for (const k in props) {
        const v = props[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k.slice(0, 2) === "on" && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (k === "value" || k === "checked" || k === "disabled" || k === "hidden" || k === "required") el[k] = v;
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    if (children != null) add(el, children);
    return el;
  }

  function add(el, c) {
    if (Array.isArray(c)) c.forEach((x) => add(el, x));
    else if (c != null && c !== false) el.appendChild(typeof c === "object" ? c : d.createTextNode(String(c)));
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z",
    down: "M6 9l6 6 6-6",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    plus: "M12 5v14M5 12h14",
    back: "M15 18l-6-6 6-6",
  };
  function icon(name) {
    const s = d.createElementNS(SVG, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    const p = d.createElementNS(SVG, "path");
    p.setAttribute("d", ICONS[name]);
    s.appendChild(p);
    return s;
  }

  function timeLabel(iso) {
    const t = ts(iso);
    if (!t) return "";
    try {
      return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (_) {
      return "";
    }
  }

  function dateLabel(iso) {
    const t = ts(iso);
    if (!t) return "";
    try {
      return new Date(t).toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" });
    } catch (_) {
      return "";
    }
  }

  // ------------------------------------------------------------------ safe rich text (DOM nodes only)
  const LIST_ITEM = /^\s*([-*\u2022]|\d{1,3}[.)])\s+/;
  const FENCE = /^\s*```/;
  const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\(([^()\s]+)\)|(https?:\/\/[^\s<>"'`]+)/g;

  function link(href, label) {
    return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label);
  }

  function inline(parent, text) {
    let last = 0;
    let m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) {
      if (m.index > last) parent.appendChild(d.createTextNode(text.slice(last, m.index)));
      let end = INLINE.lastIndex;
      if (m[1] != null) {
        parent.appendChild(h("code", null, m[1]));
      } else if (m[2] != null) {
        parent.appendChild(h("strong", null, m[2]));
      } else if (m[3] != null) {
        const href = safeUrl(m[4]);
        parent.appendChild(href ? link(href, m[3]) : d.createTextNode(m[0]));
      } else {
        let url = m[5];
        const trail = /[.,;:!?)\]}*]+$/.exec(url);
        if (trail && trail[0].length < url.length) {
          url = url.slice(0, url.length - trail[0].length);
          end -= trail[0].length;
          INLINE.lastIndex = end;
        }
        const href = safeUrl(url);
        parent.appendChild(href ? link(href, url) : d.createTextNode(url));
      }
      last = end;
    }
    if (last < text.length) parent.appendChild(d.createTextNode(text.slice(last)));
    return parent;
  }

  function rich(el, text) {
    const lines = str(text).replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (FENCE.test(line)) {
        const buf = [];
        i++;
        while (i < lines.length && !FENCE.test(lines[i])) buf.push(lines[i++]);
        i++;
        el.appendChild(h("pre", null, h("code", null, buf.join("\n"))));
        continue;
      }
      if (!line.trim()) {
        i++;
        continue;
      }
      if (LIST_ITEM.test(line)) {
        const ordered = /^\s*\d/.test(line);
        const list = h(ordered ? "ol" : "ul");
        if (ordered) {
          const start = parseInt(line.trim(), 10);
          if (start > 1) list.setAttribute("start", String(start));
        }
        while (i < lines.length && LIST_ITEM.test(lines[i])) {
          list.appendChild(inline(h("li"), lines[i].replace(LIST_ITEM, "")));
          i++;
        }
        el.appendChild(list);
        continue;
      }
      if (/^#{1,6}\s+/.test(line)) {
        el.appendChild(inline(h("p", { class: "heading" }), line.replace(/^#{1,6}\s+/, "")));
        i++;
        continue;
      }
      const p = h("p");
      let first = true;
      while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !LIST_ITEM.test(lines[i]) && !/^#{1,6}\s+/.test(lines[i])) {
        if (!first) p.appendChild(h("br"));
        inline(p, lines[i]);
        first = false;
        i++;
      }
      el.appendChild(p);
    }
  }

  // ------------------------------------------------------------------ styles
  const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  --brand: #3b5bdb; --brand-fg: #ffffff;
  --bg: #ffffff; --fg: #1d2129; --muted: #5b6472; --border: #dde1e7; --surface: #f1f3f5; --surface-2: #e4e7eb;
  --link: #1a56c9; --danger: #c42b2b; --danger-bg: #fdecec; --focus: #1a6fd6;
  --notice-bg: #fff6d6; --notice-fg: #5a4300; --shadow: 0 12px 40px rgba(16, 24, 40, .20);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); -webkit-font-smoothing: antialiased; text-align: left;
}
.root.dark {
  --bg: #17191e; --fg: #e7e9ed; --muted: #a3abb8; --border: #323844; --surface: #242830; --surface-2: #2f3540;
  --link: #8ec5ff; --danger: #ff8a8a; --danger-bg: #3a1d20; --focus: #7cc0ff;
  --notice-bg: #3a3114; --notice-fg: #ffe49a; --shadow: 0 12px 40px rgba(0, 0, 0, .55);
}
button, input, select, textarea { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus { outline: none; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 58px; height: 58px; border-radius: 50%; border: 0; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--brand); color: var(--brand-fg); box-shadow: 0 6px 20px rgba(16, 24, 40, .28);
  transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher:focus-visible { outline: 3px solid var(--focus); outline-offset: 3px; }
.launcher svg { width: 28px; height: 28px; }
.badge {
  position: absolute; top: -3px; right: -3px; min-width: 21px; height: 21px; padding: 0 6px;
  border-radius: 11px; background: #e03131; color: #fff; font-size: 12px; font-weight: 700; line-height: 21px;
  text-align: center; box-shadow: 0 0 0 2px #fff;
}

.panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483001;
  width: 384px; max-width: calc(100vw - 40px); height: 640px; max-height: calc(100vh - 116px);
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--bg); color: var(--fg); border: 1px solid var(--border); border-radius: 16px; box-shadow: var(--shadow);
}
.header {
  flex: none; display: flex; align-items: center; gap: 4px; padding: 12px 8px 12px 16px; min-height: 62px;
  background: var(--brand); color: var(--brand-fg);
}
.header .titles { flex: 1; min-width: 0; }
.header h2 { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.header .sub { font-size: 12.5px; opacity: .88; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.icon-btn {
  flex: none; width: 38px; height: 38px; border: 0; border-radius: 10px; padding: 0; background: transparent; color: inherit;
  display: inline-flex; align-items: center; justify-content: center;
}
.icon-btn:hover { background: rgba(127, 127, 127, .18); }
.header .icon-btn:focus-visible { outline: 2px solid var(--brand-fg); outline-offset: -3px; }

.body { flex: 1; min-height: 0; display: flex; flex-direction: column; position: relative; }
.scroll { flex: 1; min-height: 0; overflow-y: auto; padding: 16px 14px 8px; overscroll-behavior: contain; }
.state { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 12px; padding: 24px; color: var(--muted); text-align: center; }
.spinner { width: 30px; height: 30px; border-radius: 50%; border: 3px solid var(--surface-2); border-top-color: var(--brand); animation: woes-spin .8s linear infinite; }
@keyframes woes-spin { to { transform: rotate(360deg); } }

.log { display: flex; flex-direction: column; gap: 10px; }
.msg { display: flex; flex-direction: column; align-items: flex-start; max-width: 86%; align-self: flex-start; }
.msg.me { align-self: flex-end; align-items: flex-end; }
.who { font-size: 12px; color: var(--muted); margin: 0 6px 3px; display: flex; gap: 6px; align-items: center; }
.tag { font-size: 10.5px; font-weight: 700; letter-spacing: .03em; padding: 0 5px; border-radius: 4px; background: var(--surface-2); color: var(--muted); }
.bubble {
  padding: 9px 12px; border-radius: 16px 16px 16px 5px; background: var(--surface); color: var(--fg);
  overflow-wrap: anywhere; max-width: 100%;
}
.me .bubble { background: var(--brand); color: var(--brand-fg); border-radius: 16px 16px 5px 16px; white-space: pre-wrap; }
.me.failed .bubble { opacity: .7; }
.bubble p { margin: 0 0 8px; }
.bubble p:last-child, .bubble ul:last-child, .bubble ol:last-child, .bubble pre:last-child { margin-bottom: 0; }
.bubble .heading { font-weight: 650; }
.bubble ul, .bubble ol { margin: 0 0 8px; padding-left: 20px; }
.bubble code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; background: var(--surface-2); padding: 1px 4px; border-radius: 4px; }
.bubble pre { margin: 0 0 8px; padding: 8px 10px; background: var(--surface-2); border-radius: 8px; overflow-x: auto; white-space: pre; }
.bubble pre code { background: none; padding: 0; }
.bubble a { color: var(--link); text-decoration: underline; }
.me .bubble a { color: inherit; }
.sources { margin-top: 8px; padding-top: 7px; border-top: 1px solid var(--border); font-size: 12.5px; }
.sources-title { margin: 0 0 3px; font-size: 11.5px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.sources ol { list-style: none; margin: 0; padding: 0; }
.sources li { margin: 2px 0; }
.sources .n { color: var(--muted); font-variant-numeric: tabular-nums; }
.meta:empty { display: none; }
.meta { font-size: 11.5px; color: var(--muted); margin: 3px 6px 0; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.meta .bad { color: var(--danger); font-weight: 600; }
.link-btn { border: 0; background: none; padding: 0 2px; color: var(--link); text-decoration: underline; font-size: inherit; font-weight: 600; border-radius: 4px; }
.notice {
  align-self: center; max-width: 94%; text-align: center; font-size: 12.5px; padding: 6px 12px; border-radius: 12px;
  background: var(--notice-bg); color: var(--notice-fg);
}

.greeting { margin-bottom: 10px; }
.section { margin-top: 18px; }
.section h3 { margin: 0 0 6px; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.card {
  display: block; width: 100%; margin: 0 0 8px; padding: 10px 12px; text-align: left;
  background: var(--bg); color: var(--fg); border: 1px solid var(--border); border-radius: 12px;
}
.card:hover { border-color: var(--brand); }
.card strong { display: block; font-weight: 600; }
.card span { display: block; font-size: 12.5px; color: var(--muted); }

.after:empty { display: none; }
.after { margin-top: 14px; display: flex; flex-direction: column; gap: 12px; }
.closed { text-align: center; padding: 12px; border: 1px dashed var(--border); border-radius: 12px; color: var(--muted); }
.closed p { margin: 0 0 10px; }
.closed .hint { font-size: 12.5px; margin: 10px 0 0; }
.btn { border: 0; border-radius: 10px; padding: 9px 16px; background: var(--brand); color: var(--brand-fg); font-weight: 600; }
.btn:disabled { opacity: .6; cursor: default; }
.btn.quiet { background: var(--surface-2); color: var(--fg); }
.csat { padding: 14px; border-radius: 12px; background: var(--surface); text-align: center; }
.csat p { margin: 0 0 4px; font-weight: 600; }
.csat-hint { font-size: 12.5px; color: var(--muted); margin-bottom: 8px; }
.csat textarea { width: 100%; min-height: 56px; resize: vertical; margin-bottom: 10px; }
.scores { display: flex; justify-content: center; gap: 8px; flex-wrap: wrap; }
.scores button { width: 42px; height: 42px; border-radius: 50%; border: 1px solid var(--border); background: var(--bg); color: var(--fg); font-weight: 700; }
.scores button:hover { border-color: var(--brand); background: var(--brand); color: var(--brand-fg); }
.scores button:disabled { opacity: .6; cursor: default; }
.csat .scale { display: flex; justify-content: space-between; font-size: 11.5px; color: var(--muted); max-width: 242px; margin: 6px auto 0; }
.thanks { padding: 12px; border-radius: 12px; background: var(--surface); text-align: center; font-weight: 600; }

.typing { flex: none; padding: 2px 16px 6px; font-size: 12.5px; color: var(--muted); font-style: italic; }
.typing:empty { display: none; }
.error {
  flex: none; display: flex; gap: 8px; align-items: flex-start; margin: 0 12px 8px; padding: 8px 6px 8px 10px;
  border-radius: 10px; background: var(--danger-bg); color: var(--danger); font-size: 13px;
}
.error span { flex: 1; padding-top: 2px; }
.error .icon-btn { width: 26px; height: 26px; border-radius: 6px; }
.error svg { width: 16px; height: 16px; }

.composer { flex: none; display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid var(--border); background: var(--bg); }
.input, .composer textarea, .form input:not([type=checkbox]), .form select, .form textarea {
  width: 100%; border: 1px solid var(--border); border-radius: 10px; padding: 9px 11px; background: var(--bg); color: var(--fg); line-height: 1.4;
}
.composer textarea { flex: 1; min-width: 0; resize: none; min-height: 42px; max-height: 140px; overflow-y: auto; }
.input:focus-visible, .composer textarea:focus-visible, .form input:focus-visible, .form select:focus-visible, .form textarea:focus-visible {
  outline: 2px solid var(--focus); outline-offset: 0; border-color: transparent;
}
.send { flex: none; width: 42px; height: 42px; border: 0; border-radius: 10px; padding: 0; background: var(--brand); color: var(--brand-fg); display: inline-flex; align-items: center; justify-content: center; }
.send:disabled { opacity: .55; cursor: default; }

.form { flex: 1; min-height: 0; overflow-y: auto; padding: 12px 16px 18px; }
.form .back { display: inline-flex; align-items: center; gap: 4px; border: 0; background: none; padding: 4px 6px 4px 0; color: var(--link); font-weight: 600; border-radius: 6px; }
.form .back svg { width: 18px; height: 18px; }
.form h3 { margin: 8px 0 4px; font-size: 17px; }
.form .desc { margin: 0 0 6px; color: var(--muted); }
.field { margin-top: 14px; border: 0; padding: 0; min-width: 0; }
.field > label, .field > legend { display: block; font-weight: 600; font-size: 13px; margin: 0 0 5px; padding: 0; }
.field .hint { font-size: 12.5px; color: var(--muted); margin: -2px 0 5px; }
.req { color: var(--danger); margin-left: 2px; }
.field .check { display: flex; align-items: center; gap: 8px; margin: 4px 0; font-weight: 400; font-size: 14px; }
.check input { width: 17px; height: 17px; margin: 0; accent-color: var(--brand); flex: none; }
.form textarea { min-height: 110px; resize: vertical; }
.form [aria-invalid="true"] { border-color: var(--danger); }
.field-error { color: var(--danger); font-size: 12.5px; margin-top: 4px; }
.field-error:empty { display: none; }
.form .actions { margin-top: 18px; display: flex; gap: 8px; align-items: center; }
.form .form-error { margin-top: 12px; color: var(--danger); }
.form .form-error:empty { display: none; }

@media (max-width: 480px) {
  .panel { top: 0; left: 0; right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100vh; max-height: none; border: 0; border-radius: 0; }
  .root.open .launcher { display: none; }
}
@supports (height: 100dvh) {
  @media (max-width: 480px) { .panel { height: 100dvh; } }
}
@media (prefers-reduced-motion: reduce) {
  .launcher { transition: none; }
  .launcher:hover { transform: none; }
  .spinner { animation-duration: 2.4s; }
}
`;

  // ------------------------------------------------------------------ state
  let config = null;
  let configState = "loading"; // loading | ready | error
  let configError = "";
  let themeChoice = null;
  let isOpen = false;
  let bubbleVisible = true;
  let view = "chat"; // chat | form
  let returnFocus = null;

  let identity = null; // the last identify payload as given by the host page
  let identifyWanted = false;
  let newFields = {};
  let context = {};
  let contextSentFor = null;
  let pageViewFor = null; // the conversation this page load reported its page to

  let visibleForms = null; // null = all
  let formPrefill = {};
  let pendingFormKey = null;
  let currentForm = null; // {def, controls, body, submit, error, busy}

  let conv = null; // {id, secret, data, loaded, needsRefresh, fresh, lastEventId}
  let convBusy = false;
  let convToken = 0;
  let entries = [];
  let byId = new Map();
  let seq = 0;
  let sendChain = Promise.resolve();
  let lastReadSent = null;
  let readTimer = null;
  let csatDoneFor = null;
  let csatEl = null;
  let csatElFor = null;

  const TEAM_NOTICE = "A person from the team will reply here.";
  let awaitNotice = null; // that line in the log for the current stretch of waiting on the team

  const typers = new Map();
  let typingOn = false;
  let typingSentAt = 0;
  let typingIdle = null;

  let stream = null;
  let attempt = 0;
  let retryTimer = null;
  let unloading = false;

  let cbShow = null;
  let cbHide = null;
  let cbUnread = null;

  let errTimer = null;

  // ------------------------------------------------------------------ UI skeleton
  let host, shadow, root, launcher, badge, badgeText, panel, titleEl, subEl, newBtn, closeBtn;
  let bodyEl, stateEl, scrollEl, greetingEl, introEl, logEl, afterEl, formEl;
  let typingEl, errorEl, errorText, composer, input, sendBtn;

  function buildUI() {
    host = h("div", { id: "woes-widget" });
    shadow = host.attachShadow({ mode: "open" });
    let adopted = false;
    try {
      if (w.CSSStyleSheet && "adoptedStyleSheets" in shadow) {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS); // not subject to the host page's inline-style CSP
        shadow.adoptedStyleSheets = [sheet];
        adopted = true;
      }
    } catch (_) {
      adopted = false;
    }
    if (!adopted) shadow.appendChild(h("style", { text: CSS }));

    root = h("div", { class: "root" });

    titleEl = h("h2", { id: "woes-title", text: "Support" });
    subEl = h("div", { class: "sub", hidden: true });
    newBtn = h("button", {
      type: "button", class: "icon-btn", "aria-label": "New conversation", title: "New conversation", hidden: true,
      onclick: () => startNewConversation(true),
    }, icon("plus"));
    closeBtn = h("button", {
      type: "button", class: "icon-btn", "aria-label": "Close chat", title: "Close",
      onclick: () => hide(true),
    }, icon("close"));

    stateEl = h("div", { class: "state", role: "status", "aria-live": "polite" });
    greetingEl = h("div", { class: "greeting" });
    introEl = h("div", { class: "intro" });
    logEl = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text", "aria-label": "Conversation" });
    afterEl = h("div", { class: "after" });
    scrollEl = h("div", { class: "scroll" }, [greetingEl, logEl, afterEl, introEl]);
    formEl = h("div", { class: "form", hidden: true });
    typingEl = h("div", { class: "typing", role: "status", "aria-live": "polite" });
    errorText = h("span");
    errorEl = h("div", { class: "error", role: "alert", hidden: true }, [
      errorText,
      h("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss", onclick: hideError }, icon("close")),
    ]);

    input = h("textarea", {
      id: "woes-input", rows: "1", placeholder: "Write a message…", autocomplete: "off", maxlength: "8000",
      oninput: onComposerInput,
      onkeydown: onComposerKey,
    });
    sendBtn = h("button", { type: "submit", class: "send", "aria-label": "Send", title: "Send" }, icon("send"));
    composer = h("form", { class: "composer", novalidate: true, onsubmit: onComposerSubmit }, [
      h("label", { for: "woes-input", class: "sr-only", text: "Message" }),
      input,
      sendBtn,
    ]);

    bodyEl = h("div", { class: "body" }, [stateEl, scrollEl, formEl]);
    panel = h("div", {
      class: "panel", id: "woes-panel", role: "dialog", "aria-modal": "false", "aria-label": "Support chat", hidden: true,
      onkeydown: (e) => {
        if (e.key === "Escape" || e.key === "Esc") {
          e.preventDefault();
          e.stopPropagation();
          hide(true);
        }
      },
    }, [
      h("div", { class: "header" }, [h("div", { class: "titles" }, [titleEl, subEl]), newBtn, closeBtn]),
      bodyEl,
      typingEl,
      errorEl,
      composer,
    ]);

    badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    badgeText = h("span", { class: "sr-only", id: "woes-unread" });
    launcher = h("button", {
      type: "button", class: "launcher", "aria-label": "Open support chat", "aria-expanded": "false",
      "aria-controls": "woes-panel", "aria-describedby": "woes-unread",
      onclick: () => (isOpen ? hide(true) : show()),
      onkeydown: (e) => {
        if ((e.key === "Escape" || e.key === "Esc") && isOpen) hide(true);
      },
    }, [icon("chat"), badge, badgeText]);

    root.appendChild(panel);
    root.appendChild(launcher);
    shadow.appendChild(root);
    d.body.appendChild(host);

    applyTheme();
    const mq = w.matchMedia ? w.matchMedia("(prefers-color-scheme: dark)") : null;
    if (mq) {
      if (mq.addEventListener) mq.addEventListener("change", applyTheme);
      else if (mq.addListener) mq.addListener(applyTheme);
    }
    d.addEventListener("visibilitychange", () => {
      if (!d.hidden && isOpen) markSeen();
    });
    w.addEventListener("pagehide", () => {
      unloading = true;
      stopStream();
    });
    w.addEventListener("pageshow", (e) => {
      if (e.persisted) {
        unloading = false;
        attempt = 0;
        openStream();
      }
    });
    renderBadge();
    render();
  }

  // ------------------------------------------------------------------ theme and branding
  function prefersDark() {
    try {
      return !!(w.matchMedia && w.matchMedia("(prefers-color-scheme: dark)").matches);
    } catch (_) {
      return false;
    }
  }

  function applyTheme() {
    const theme = themeChoice || (prefersDark() ? "dark" : "light");
    root.classList.toggle("dark", theme === "dark");
    host.setAttribute("data-theme", theme);
  }

  function hexRgb(c) {
    let m = /^#([0-9a-f]{3,4})$/i.exec(c);
    if (m) return [0, 1, 2].map((i) => parseInt(m[1][i] + m[1][i], 16));
    m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
    if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
    m = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/i.exec(c);
    if (m) return [+m[1], +m[2], +m[3]];
    return null;
  }

  function textOn(color) {
    const rgb = hexRgb(color);
    if (!rgb) return "#ffffff";
    const lin = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return 1.05 / (L + 0.05) >= (L + 0.05) / 0.05 ? "#ffffff" : "#111418";
  }

  function applyBranding() {
    const color = config && config.branding && config.branding.color;
    let ok = typeof color === "string" && color.length < 64;
    if (ok && w.CSS && typeof w.CSS.supports === "function") ok = w.CSS.supports("color", color);
    if (ok) {
      root.style.setProperty("--brand", color);
      root.style.setProperty("--brand-fg", textOn(color.trim()));
    }
  }

  function workspaceName() {
    const ws = (config && config.workspace) || {};
    return str(ws.companyName || ws.name) || "Support";
  }

  function agentName() {
    return config && config.agent && config.agent.name ? str(config.agent.name) : "";
  }

  // ------------------------------------------------------------------ rendering
  function render() {
    if (!root) return;
    const name = workspaceName();
    titleEl.textContent = name;
    panel.setAttribute("aria-label", config ? "Chat with " + name : "Support chat");
    const agent = agentName();
    subEl.textContent = agent ? agent + " and the team can help" : "The team is here to help";
    subEl.hidden = !config;

    const loading = (configState === "loading" && !conv) || convBusy;
    const inForm = view === "form";
    formEl.hidden = !inForm;
    composer.hidden = inForm;
    typingEl.hidden = inForm;

    clear(stateEl);
    if (!inForm && loading) {
      stateEl.hidden = false;
      stateEl.setAttribute("aria-busy", "true");
      add(stateEl, [h("div", { class: "spinner", "aria-hidden": "true" }), h("div", { text: "Loading…" })]);
      scrollEl.hidden = true;
    } else if (!inForm && configState === "error" && !conv) {
      stateEl.hidden = false;
      stateEl.removeAttribute("aria-busy");
      add(stateEl, [
        h("div", { text: "The chat can't load right now." }),
        configError ? h("div", { text: configError }) : null,
        h("button", { type: "button", class: "btn quiet", onclick: loadConfig }, "Try again"),
      ]);
      scrollEl.hidden = true;
    } else {
      stateEl.hidden = true;
      stateEl.removeAttribute("aria-busy");
      scrollEl.hidden = inForm;
    }
    logEl.setAttribute("aria-busy", loading ? "true" : "false");

    renderGreeting();
    renderIntro();
    renderAfter();
    newBtn.hidden = !(conv || entries.length) || inForm;
  }

  function renderGreeting() {
    clear(greetingEl);
    const text = config && config.branding && config.branding.greeting;
    if (!config) return;
    const msg = h("div", { class: "msg them" }, [
      h("div", { class: "who", text: workspaceName() }),
      h("div", { class: "bubble" }),
    ]);
    rich(msg.lastChild, text ? str(text) : "Hi! How can we help?");
    greetingEl.appendChild(msg);
  }

  function formsToList() {
    const forms = config && Array.isArray(config.ticketForms) ? config.ticketForms : [];
    return forms.filter((f) => f && f.key != null && (!visibleForms || visibleForms.indexOf(String(f.key)) >= 0));
  }

  function renderIntro() {
    clear(introEl);
    if (conv || entries.length || !config) return;
    const forms = formsToList();
    if (forms.length) {
      introEl.appendChild(h("div", { class: "section" }, [
        h("h3", { text: "Other ways to reach us" }),
        forms.map((f) => h("button", { type: "button", class: "card", onclick: () => showForm(String(f.key)) }, [
          h("strong", { text: str(f.title || f.key) }),
          f.description ? h("span", { text: str(f.description) }) : null,
        ])),
      ]));
    }
    const past = store.conversations.slice().sort((a, b) => ts(b.lastMessageAt) - ts(a.lastMessageAt)).slice(0, 5);
    if (past.length) {
      introEl.appendChild(h("div", { class: "section" }, [
        h("h3", { text: "Your conversations" }),
        past.map((c) => {
          const bits = [];
          if (c.status) bits.push(c.status === "solved" ? "Closed" : c.status === "waiting" ? "Waiting" : "Open");
          const when = dateLabel(c.lastMessageAt);
          if (when) bits.push(when);
          return h("button", { type: "button", class: "card", onclick: () => openKnown(c.id) }, [
            h("strong", { text: str(c.subject) || "Conversation" }),
            bits.length ? h("span", { text: bits.join(" · ") }) : null,
          ]);
        }),
      ]));
    }
  }

  function csatEnabled() {
    return !!(config && config.csat && config.csat.enabled);
  }

  function renderAfter() {
    const c = conv && conv.data;
    if (!c || c.status !== "solved") {
      clear(afterEl);
      return;
    }
    const showCsat = csatDoneFor !== conv.id && csatEnabled() && c.csat == null;
    const key = [conv.id, csatDoneFor === conv.id, showCsat].join("|");
    if (afterEl.firstChild && afterEl._key === key) return;
    afterEl._key = key;
    const hadFocus = shadow.activeElement && afterEl.contains(shadow.activeElement) ? shadow.activeElement : null;
    const nodes = [];
    nodes.push(h("div", { class: "closed" }, [
      h("p", { text: "This conversation is closed" }),
      h("button", { type: "button", class: "btn", onclick: () => startNewConversation(true) }, "Start a new conversation"),
      h("p", { class: "hint", text: "You can also reply below to reopen it." }),
    ]));
    if (csatDoneFor === conv.id) {
      nodes.unshift(h("div", { class: "thanks", role: "status", tabindex: "-1", text: "Thanks for your feedback" }));
    } else if (showCsat) {
      if (!csatEl || csatElFor !== conv.id) {
        csatEl = csatNode();
        csatElFor = conv.id;
      }
      nodes.unshift(csatEl);
    }
    clear(afterEl);
    add(afterEl, nodes);
    if (hadFocus && !afterEl.contains(hadFocus)) {
      const t = afterEl.querySelector(".thanks") || afterEl.querySelector("button");
      if (t) t.focus();
    }
  }

  function csatNode() {
    const comment = h("textarea", { id: "woes-csat-comment", class: "input", rows: "2", maxlength: "2000", placeholder: "Anything to add? (optional)" });
    const buttons = [1, 2, 3, 4, 5].map((n) => h("button", {
      type: "button", "aria-label": n + " of 5", title: n + " of 5",
      onclick: () => submitCsat(n, comment, buttons),
    }, String(n)));
    return h("div", { class: "csat", role: "group", "aria-labelledby": "woes-csat-q" }, [
      h("p", { id: "woes-csat-q", text: "How did we do?" }),
      h("div", { class: "csat-hint", text: "Add a comment if you like, then pick a score." }),
      h("label", { for: "woes-csat-comment", class: "sr-only", text: "Comment (optional)" }),
      comment,
      h("div", { class: "scores" }, buttons),
      h("div", { class: "scale", "aria-hidden": "true" }, [h("span", { text: "Poor" }), h("span", { text: "Great" })]),
    ]);
  }

  function renderBadge() {
    const n = store.unread;
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n <= 0;
    badgeText.textContent = n > 0 ? n + (n === 1 ? " unread message" : " unread messages") : "";
    launcher.hidden = !bubbleVisible;
  }

  function renderTyping() {
    const names = [];
    typers.forEach((t) => names.push(t.name));
    const text = names.length === 0
      ? awaiting() === "agent" ? (agentName() || "The assistant") + " is writing an answer…" : ""
      : names.length === 1 ? names[0] + " is typing…" : names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " are typing…";
    if (typingEl.textContent !== text) typingEl.textContent = text; // the same text again is not news for a screen reader
  }

  function nearBottom() {
    return scrollEl.scrollHeight - scrollEl.scrollTop - scrollEl.clientHeight < 80;
  }

  function scrollDown(force) {
    if (force || nearBottom()) scrollEl.scrollTop = scrollEl.scrollHeight;
  }

  // ------------------------------------------------------------------ messages
  function isMine(m) {
    return !!m && (m.role === "user" || (m.author && m.author.type === "customer"));
  }

  function authorName(author) {
    const a = author || {};
    if (a.name) return str(a.name);
    if (a.type === "agent") return agentName() || "Assistant";
    if (a.type === "customer") return "You";
    return workspaceName();
  }

  function messageNode(e) {
    const m = e.msg || {};
    const mine = e.mine;
    const failed = isFailed(e);
    const isAgent = !mine && m.author && m.author.type === "agent";
    const node = h("div", { class: "msg " + (mine ? "me" : "them") + (failed ? " failed" : "") });
    if (mine) node.appendChild(h("span", { class: "sr-only", text: "You:" }));
    else {
      node.appendChild(h("div", { class: "who" }, [
        h("span", { text: authorName(m.author) }),
        isAgent ? h("span", { class: "tag", title: "AI assistant", text: "AI" }) : null,
        h("span", { class: "sr-only", text: ":" }),
      ]));
    }
    const bubble = h("div", { class: "bubble" });
    const body = e.msg ? m.body : e.body;
    if (mine) bubble.textContent = str(body);
    else rich(bubble, body);
    if (!mine && Array.isArray(m.citations) && m.citations.length) bubble.appendChild(sourcesNode(m.citations));
    node.appendChild(bubble);
    node.appendChild(metaNode(e));
    return node;
  }

  function isFailed(e) {
    return e.status === "failed" || (!e.status && e.mine && !!e.msg && e.msg.deliveryStatus === "failed");
  }

  function signature(e) {
    const m = e.msg || {};
    const a = m.author || {};
    return JSON.stringify([e.mine, e.msg ? m.body : e.body, a.type, a.name, m.citations || null, isFailed(e)]);
  }

  function metaNode(e) {
    const m = e.msg || {};
    const mine = e.mine;
    const failed = isFailed(e);
    const meta = h("div", { class: "meta" });
    const time = timeLabel(m.createdAt);
    if (time) meta.appendChild(h("time", { datetime: str(m.createdAt), text: time }));
    if (mine) {
      if (e.status === "sending") meta.appendChild(h("span", { text: "Sending…" }));
      else if (failed) {
        meta.appendChild(h("span", { class: "bad", text: "Failed —" }));
        meta.appendChild(h("button", { type: "button", class: "link-btn", onclick: () => retry(e) }, "Retry"));
      } else if (m.readAt) meta.appendChild(h("span", { text: "Seen" }));
      else meta.appendChild(h("span", { text: "Sent" }));
    }
    return meta;
  }

  function sourcesNode(citations) {
    const items = citations.filter((c) => c && typeof c === "object").map((c, i) => {
      const n = c.n != null ? str(c.n) : String(i + 1);
      const title = str(c.title) || str(c.url) || "Source " + n;
      const href = safeUrl(c.url);
      return h("li", null, [h("span", { class: "n", text: "[" + n + "] " }), href ? link(href, title) : h("span", { text: title })]);
    });
    return h("div", { class: "sources" }, [h("p", { class: "sources-title", text: "Sources" }), h("ol", { "aria-label": "Sources" }, items)]);
  }

  function draw(e) {
    if (e.removed) return;
    if (e.kind !== "notice" && e.node && e.node.parentNode === logEl && e.sig === signature(e)) {
      // only the delivery/read state changed: swap the status line, keep the message (no re-announcement)
      const old = e.node.querySelector(".meta");
      const focused = old && shadow.activeElement && old.contains(shadow.activeElement);
      const meta = metaNode(e);
      if (old) e.node.replaceChild(meta, old);
      else e.node.appendChild(meta);
      if (focused) input.focus();
      return;
    }
    if (e.kind !== "notice") e.sig = signature(e);
    const node = e.kind === "notice" ? h("div", { class: "notice", text: e.text }) : messageNode(e);
    const stick = nearBottom();
    if (e.node && e.node.parentNode === logEl) {
      const focused = shadow.activeElement && e.node.contains(shadow.activeElement);
      logEl.replaceChild(node, e.node);
      if (focused) input.focus();
    } else logEl.appendChild(node);
    e.node = node;
    if (stick) scrollDown(true);
  }

  function dropEntry(e) {
    e.removed = true;
    if (e.node && e.node.parentNode) e.node.parentNode.removeChild(e.node);
    entries = entries.filter((x) => x !== e);
  }

  function resetLog() {
    entries.forEach((e) => { e.removed = true; });
    entries = [];
    byId = new Map();
    clear(logEl);
    awaitNotice = null;
    typers.forEach((t) => clearTimeout(t.timer));
    typers.clear();
    renderTyping();
    lastReadSent = null;
  }

  function addNotice(text) {
    const last = entries[entries.length - 1];
    if ((last && last.kind === "notice" && last.text === text) || (awaitNotice && awaitNotice.text === text)) return;
    const e = { kind: "notice", key: "n" + ++seq, text };
    entries.push(e);
    draw(e);
  }

  // Who owes the visitor the next reply ("agent" | "team" | null): the server's word, for as long as the visitor's
  // message is still the last one in the log (a reply that came in ends it, even before the next conversation frame).
  function awaiting() {
    const a = conv && conv.data ? conv.data.awaiting : null;
    if (a !== "agent" && a !== "team") return null;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.kind !== "notice" && !e.hidden && !e.removed) return e.mine ? a : null;
    }
    return null;
  }

  // "team": one notice line per stretch of waiting (not one per frame), gone once a reply arrives; "agent": the
  // typing area says the agent is writing (renderTyping).
  function syncAwaiting() {
    const team = awaiting() === "team";
    if (team && !awaitNotice) {
      awaitNotice = { kind: "notice", key: "n" + ++seq, text: TEAM_NOTICE };
      entries.push(awaitNotice);
      draw(awaitNotice);
    } else if (!team && awaitNotice) {
      dropEntry(awaitNotice);
      awaitNotice = null;
    }
    renderTyping();
  }

  function mark() {
    return conv ? store.marks[conv.id] : undefined;
  }

  function setMark(t) {
    if (!conv) return;
    const cur = store.marks[conv.id];
    if (cur === undefined || t > cur) {
      store.marks[conv.id] = t;
      save();
    }
  }

  function viewing() {
    return isOpen && !d.hidden;
  }

  // source: "history" (GET messages), "stream", "post" (the POST /messages answer)
  function upsert(m, source) {
    if (!m || m.id == null) return null;
    const id = String(m.id);
    let e = byId.get(id);
    const isNew = !e;
    if (!e && isMine(m)) {
      // our own message coming back before the POST answered: adopt the pending bubble
      e = entries.find((x) => !x.id && x.kind !== "notice" && x.status === "sending" && x.body === str(m.body)) || null;
      if (e) {
        e.id = id;
        byId.set(id, e);
      }
    }
    if (!e) {
      e = { key: id, id, mine: isMine(m) };
      entries.push(e);
      byId.set(id, e);
    }
    e.msg = m;
    e.mine = isMine(m);
    e.status = null;
    if (!e.hidden) draw(e);
    if (isNew && !e.mine) {
      const a = m.author || {};
      typers.forEach((t, k) => { if (k.indexOf((a.type || "") + ":") === 0) { clearTimeout(t.timer); typers.delete(k); } });
      renderTyping();
      const t = ts(m.createdAt);
      const mk = mark();
      const fresh = source === "stream" || (mk !== undefined && t > mk);
      if (fresh) {
        if (viewing()) scheduleRead();
        else setUnread(store.unread + 1);
      }
      setMark(t);
    }
    if (isNew && conv) {
      rememberConversation({ id: conv.id, lastMessageAt: m.createdAt || undefined });
    }
    syncAwaiting();
    return e;
  }

  function setUnread(n) {
    n = Math.max(0, Math.floor(n) || 0);
    if (n === store.unread) return;
    store.unread = n;
    save();
    renderBadge();
    call(cbUnread, n);
  }

  function latestOther() {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.msg && !e.mine) return e;
    }
    return null;
  }

  function markSeen() {
    setUnread(0);
    const last = latestOther();
    if (last) setMark(ts(last.msg.createdAt));
    scheduleRead();
  }

  function scheduleRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (!conv || !conv.loaded || !viewing()) return;
      const last = latestOther();
      if (!last || last.id === lastReadSent) return;
      lastReadSent = last.id;
      postEvent({ type: "read" });
    }, 250);
  }

  function postEvent(ev) {
    if (!conv) return Promise.resolve();
    const body = Object.assign({}, ev, { conversationId: conv.id });
    return api("POST", "/events", body, conv.secret).catch(() => {});
  }

  // the server takes a URL of at most 2048 and a title of at most 300 characters (a longer one is refused)
  function pageInfo() {
    return { url: w.location.href.slice(0, 2048), title: str(d.title).trim().slice(0, 300) };
  }

  // once per page load and conversation (a new conversation sends its page when it starts)
  function ensurePageView() {
    if (!conv || pageViewFor === conv.id) return;
    pageViewFor = conv.id;
    postEvent({ type: "page_view", page: pageInfo() });
  }

  function flushContext() {
    if (!conv || !conv.loaded || contextSentFor === conv.id || !Object.keys(context).length) return;
    contextSentFor = conv.id;
    postEvent({ type: "context", context: Object.assign({}, context) });
  }

  // ------------------------------------------------------------------ conversations
  // `c` comes from this conversation's own endpoints (callers drop stale answers). Its id may differ from conv.id:
  // once an operator merged the conversation, the server answers with the one it became (the URLs and the
  // secret stay the ones of this conversation).
  function applyConversation(c, initial) {
    if (!isObject(c) || !conv) return;
    const prev = conv.data;
    const next = Object.assign({}, prev || {}, c);
    delete next.notice;
    conv.data = next;
    syncAwaiting(); // first: a handoff notice saying the same as the waiting line is then not added again
    if (!initial) {
      if (c.notice) addNotice(str(c.notice));
      else if (c.handling === "human" && (!prev || prev.handling !== "human")) addNotice(TEAM_NOTICE);
    }
    if (next.status !== "solved" && csatDoneFor === conv.id) csatDoneFor = null;
    rememberConversation({ id: conv.id, subject: next.subject, status: next.status, lastMessageAt: next.lastMessageAt });
    const stick = nearBottom();
    renderAfter();
    if (stick) scrollDown(true);
  }

  function setCurrent(id, secret, keepLog) {
    stopStream();
    if (!keepLog) resetLog();
    ++convToken;
    conv = id ? { id: String(id), secret: String(secret), data: null, loaded: false, needsRefresh: false, fresh: false, lastEventId: "" } : null;
    store.conversationId = conv ? conv.id : null;
    store.conversationSecret = conv ? conv.secret : null;
    if (conv) rememberConversation({ id: conv.id, secret: conv.secret });
    else save();
    csatEl = null;
    csatElFor = null;
    attempt = 0;
    syncAwaiting();
  }

  async function fetchConversation(id, secret) {
    const results = await Promise.all([
      api("GET", "/conversations/" + enc(id), undefined, secret),
      api("GET", "/conversations/" + enc(id) + "/messages", undefined, secret),
    ]);
    const list = results[1] && Array.isArray(results[1].messages) ? results[1].messages : Array.isArray(results[1]) ? results[1] : [];
    return { data: results[0], messages: list };
  }

  async function loadConversation(id, secret) {
    setCurrent(id, secret);
    const token = convToken;
    convBusy = true;
    render();
    try {
      const got = await fetchConversation(conv.id, conv.secret);
      if (token !== convToken) return;
      if (store.marks[conv.id] === undefined) {
        // first time this device sees the conversation: its history is not "unread"
        let max = 0;
        got.messages.forEach((m) => { if (!isMine(m)) max = Math.max(max, ts(m.createdAt)); });
        store.marks[conv.id] = max;
        save();
      }
      applyConversation(got.data, true);
      got.messages.forEach((m) => upsert(m, "history"));
      conv.loaded = true;
      conv.fresh = true;
    } catch (err) {
      if (token !== convToken) return;
      if (err.status === 401 || err.status === 403 || err.status === 404) {
        forgetConversation(conv.id);
        setCurrent(null);
        convBusy = false;
        render();
        return;
      }
      conv.loaded = true;
      conv.needsRefresh = true;
      showError(err.detail);
    }
    convBusy = false;
    render();
    scrollDown(true);
    ensurePageView();
    flushContext();
    if (viewing()) markSeen();
    openStream();
  }

  async function refresh() {
    if (!conv) return;
    const token = convToken;
    try {
      const got = await fetchConversation(conv.id, conv.secret);
      if (token !== convToken || !conv) return;
      applyConversation(got.data, !conv.data);
      got.messages.forEach((m) => upsert(m, "history"));
      conv.needsRefresh = false;
      if (viewing()) markSeen();
    } catch (_) {
      /* the stream will try again */
    }
  }

  function openKnown(id) {
    const k = knownConversation(id);
    if (!k || !k.secret) return;
    view = "chat";
    loadConversation(k.id, k.secret).then(() => focusComposer());
  }

  function startNewConversation(focus) {
    stopTyping();
    setCurrent(null);
    view = "chat";
    render();
    if (focus) focusComposer();
  }

  // ------------------------------------------------------------------ the live stream (SSE over fetch)
  function stopStream() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stream) {
      const s = stream;
      stream = null;
      try {
        s.ctl.abort();
      } catch (_) {
        /* already closed */
      }
    }
  }

  function openStream() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (!conv || !conv.loaded || stream || unloading || typeof w.AbortController !== "function") return;
    const c = conv;
    const ctl = new AbortController();
    const me = { ctl };
    stream = me;
    const headers = { "X-Woes-Public-Key": publicKey, "X-Woes-Conversation-Secret": c.secret, Accept: "text/event-stream" };
    if (c.lastEventId) headers["Last-Event-ID"] = c.lastEventId;
    let status = 0;
    (async () => {
      try {
        const res = await fetch(base + "/conversations/" + enc(c.id) + "/stream", {
          method: "GET", headers, signal: ctl.signal, credentials: "omit", mode: "cors", cache: "no-store",
        });
        status = res.status;
        if (!res.ok || !res.body) throw new Error("stream " + res.status);
        if (conv === c) {
          if (c.fresh && !c.needsRefresh) c.fresh = false;
          else refresh(); // catch up on anything sent while we were not listening
        }
        await readEvents(res.body, c, () => { attempt = 0; });
      } catch (_) {
        if (ctl.signal.aborted) return;
      }
      if (stream !== me) return;
      stream = null;
      if (unloading || conv !== c) return;
      if (status === 404) {
        endConversation(c); // this secret no longer opens the conversation: rotated by an operator, or merged away
        return;
      }
      if (status === 401 || status === 403) {
        warnOnce("stream:" + status, "live updates stopped: the server refused the conversation stream (" + status + ").");
        return;
      }
      const delay = Math.min(30000, 1000 * Math.pow(2, attempt));
      attempt = Math.min(attempt + 1, 5);
      retryTimer = setTimeout(openStream, delay + Math.floor(Math.random() * 300));
    })();
  }

  async function readEvents(body, c, onActivity) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let evName = "";
    let data = [];
    const line = (l) => {
      if (l === "") {
        if (data.length) dispatch(evName || "message", data.join("\n"), c);
        evName = "";
        data = [];
        return;
      }
      if (l[0] === ":") return; // comment / keep-alive
      const i = l.indexOf(":");
      const field = i < 0 ? l : l.slice(0, i);
      let value = i < 0 ? "" : l.slice(i + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "event") evName = value;
      else if (field === "data") data.push(value);
      else if (field === "id" && value.indexOf("\0") < 0) c.lastEventId = value;
    };
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      if (conv !== c) {
        try { reader.cancel(); } catch (_) { /* ignore */ }
        return;
      }
      onActivity();
      buf += decoder.decode(chunk.value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        if (!m) break;
        if (m[0] === "\r" && m.index === buf.length - 1) break; // maybe half of a \r\n
        const l = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        line(l);
      }
    }
  }

  function dispatch(name, raw, c) {
    if (conv !== c) return;
    let data;
    try {
      data = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!isObject(data)) return;
    if (name === "message") {
      upsert(data, "stream");
    } else if (name === "typing") {
      onTypingFrame(data);
    } else if (name === "conversation") {
      applyConversation(data, false);
    } else if (name === "end") {
      endConversation(c, data.reason);
    }
  }

  // The server ends the stream when this browser's history secret no longer opens the conversation (an operator
  // rotated it): the secret is dead, so forget it, say so, and let the next message start a new conversation.
  function endConversation(c, reason) {
    if (conv !== c) return;
    clearTimeout(typingIdle);
    typingOn = false;
    setCurrent(null, null, true); // the log stays: the visitor can still read what was said
    forgetConversation(c.id);
    addNotice(str(reason) || "This conversation is no longer available here.");
    addNotice("Write below to start a new conversation.");
    render();
  }

  function onTypingFrame(f) {
    const a = f.author || {};
    if (a.type === "customer") return;
    const key = (a.type || "") + ":" + (a.name || "");
    const old = typers.get(key);
    if (old) clearTimeout(old.timer);
    if (f.typing) {
      const timer = setTimeout(() => {
        typers.delete(key);
        renderTyping();
      }, 8000);
      typers.set(key, { name: authorName(a), timer });
    } else typers.delete(key);
    renderTyping();
  }

  // ------------------------------------------------------------------ sending
  function newConversationExtras(payload) {
    payload.page = pageInfo();
    if (identity) payload.identity = Object.assign({}, identity);
    if (Object.keys(context).length) payload.context = Object.assign({}, context);
  }

  function started(res, keepLog) {
    const id = res && (res.conversationId || (res.conversation && res.conversation.id));
    if (!id || !res.conversationSecret) return false;
    setCurrent(id, res.conversationSecret, keepLog);
    store.marks[conv.id] = 0; // everything the team sends from now on is new
    conv.loaded = true;
    conv.fresh = true; // the answer is all there is; the stream's opening frames cover anything after it
    pageViewFor = conv.id; // the page went with the first message
    save();
    if (Object.keys(context).length) contextSentFor = conv.id;
    return true;
  }

  function sendMessage(text) {
    const body = str(text).trim();
    if (!body) return;
    stopTyping();
    hideError();
    const e = { key: "l" + ++seq, id: null, msg: null, body, mine: true, status: "sending" };
    entries.push(e);
    render();
    draw(e);
    scrollDown(true);
    sendChain = sendChain.then(() => deliver(e));
  }

  function retry(e) {
    if (e.id && e.msg) {
      // the server marked it failed: send the same text again as a new message
      e.hidden = true;
      if (e.node && e.node.parentNode) e.node.parentNode.removeChild(e.node);
      sendMessage(e.msg.body);
      return;
    }
    e.status = "sending";
    draw(e);
    sendChain = sendChain.then(() => deliver(e));
  }

  async function deliver(e) {
    if (e.removed) return;
    const payload = { body: e.body, visitorId: store.visitorId };
    const starting = !conv;
    let secret = null;
    if (conv) {
      payload.conversationId = conv.id;
      secret = conv.secret;
    } else {
      newConversationExtras(payload);
      if (Object.keys(newFields).length) payload.fields = Object.assign({}, newFields);
    }
    let res;
    try {
      res = await api("POST", "/messages", payload, secret);
    } catch (err) {
      if (starting && !e.removed && dropRefusedExtras(err, payload)) {
        try {
          res = await api("POST", "/messages", payload, secret);
        } catch (err2) {
          err = err2;
        }
      }
      if (res) return delivered(e, res, starting);
      if (e.removed) return;
      e.status = "failed";
      draw(e);
      showError(err.detail);
      return;
    }
    delivered(e, res, starting);
  }

  // A 401 for the identity, or a 422 that names the identity or the context, must not stop the visitor from writing: drop them (with a
  // warning for the site's developer) and send the message anyway.
  function dropRefusedExtras(err, payload) {
    if (err.status === 401 && payload.identity) {
      delete payload.identity;
      identity = null;
      warn("the server refused the identity (" + err.detail + "); continuing anonymously.");
      return true;
    }
    if (err.status !== 422 || !err.errors.length) return false;
    let dropped = false;
    err.errors.forEach((fe) => {
      const f = str(fe && fe.field);
      if (/^identity(\.|\[|$)/.test(f) && payload.identity) {
        delete payload.identity;
        identity = null;
        dropped = true;
        warn("the server refused the identity (" + f + ": " + str(fe.message) + "); continuing anonymously.");
      } else if (/^context(\.|\[|$)/.test(f) && payload.context) {
        delete payload.context;
        dropped = true;
        warn("the server refused the context (" + f + ": " + str(fe.message) + "); sent without it.");
      } else if (/^page(\.|\[|$)/.test(f) && payload.page) {
        delete payload.page;
        dropped = true;
      }
    });
    return dropped;
  }

  function delivered(e, res, starting) {
    if (e.removed) {
      // the visitor moved on meanwhile; keep the conversation findable
      if (starting && res && res.conversationSecret) {
        rememberConversation({ id: res.conversationId, secret: res.conversationSecret, subject: res.conversation && res.conversation.subject });
      }
      return;
    }
    if (starting && !started(res, true)) {
      e.status = "failed";
      draw(e);
      showError("The conversation could not be started. Please try again.");
      return;
    }
    adopt(e, res && res.message);
    if (res && res.conversation) applyConversation(res.conversation, false);
    render();
    if (starting) {
      ensurePageView();
      openStream();
    }
  }

  function adopt(e, m) {
    if (!m || m.id == null) {
      e.status = null;
      e.msg = e.msg || { body: e.body, createdAt: new Date().toISOString(), deliveryStatus: "sent" };
      draw(e);
      return;
    }
    const id = String(m.id);
    const other = byId.get(id);
    if (other && other !== e) {
      dropEntry(e);
      other.msg = m;
      other.status = null;
      draw(other);
      return;
    }
    e.id = id;
    e.key = id;
    byId.set(id, e);
    e.msg = m;
    e.status = null;
    draw(e);
    if (conv) rememberConversation({ id: conv.id, lastMessageAt: m.createdAt || undefined });
  }

  // ------------------------------------------------------------------ composer
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 140) + "px";
  }

  function onComposerInput() {
    autosize();
    if (!conv || !conv.loaded) return;
    const now = Date.now();
    if (!typingOn || now - typingSentAt >= 3000) {
      typingOn = true;
      typingSentAt = now;
      postEvent({ type: "typing", typing: true });
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 5000);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    typingIdle = null;
    if (typingOn) {
      typingOn = false;
      postEvent({ type: "typing", typing: false });
    }
  }

  function onComposerKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitComposer();
    }
  }

  function onComposerSubmit(e) {
    e.preventDefault();
    submitComposer();
  }

  function submitComposer() {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    sendMessage(text);
    input.focus();
  }

  function focusComposer() {
    if (!isOpen) return;
    if (view === "form" && currentForm) {
      const first = formEl.querySelector("input, select, textarea");
      if (first) first.focus();
      return;
    }
    try {
      input.focus({ preventScroll: true });
    } catch (_) {
      input.focus();
    }
  }

  // ------------------------------------------------------------------ error line
  function showError(msg) {
    errorText.textContent = msg || "Something went wrong. Please try again.";
    errorEl.hidden = false;
    clearTimeout(errTimer);
    errTimer = setTimeout(hideError, 12000);
  }

  function hideError() {
    clearTimeout(errTimer);
    const hadFocus = shadow && errorEl.contains(shadow.activeElement);
    errorEl.hidden = true;
    if (hadFocus) focusComposer();
  }

  // ------------------------------------------------------------------ CSAT
  async function submitCsat(score, commentEl, buttons) {
    if (!conv) return;
    const c = conv;
    buttons.forEach((b) => { b.disabled = true; });
    commentEl.disabled = true;
    const body = { conversationId: c.id, score };
    const comment = commentEl.value.trim();
    if (comment) body.comment = comment;
    try {
      await api("POST", "/csat", body, c.secret);
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      commentEl.disabled = false;
      if (conv === c) showError(err.detail);
      return;
    }
    if (conv !== c) return;
    csatDoneFor = c.id;
    if (c.data) c.data.csat = { score };
    renderAfter();
    scrollDown(true);
  }

  // ------------------------------------------------------------------ ticket forms
  function findForm(key) {
    const forms = config && Array.isArray(config.ticketForms) ? config.ticketForms : [];
    for (const f of forms) if (f && String(f.key) === String(key)) return f;
    return null;
  }

  function optionList(options) {
    return (Array.isArray(options) ? options : []).map((o) => {
      if (o !== null && typeof o === "object") {
        const value = str(o.value != null ? o.value : o.key != null ? o.key : o.id);
        return { value, label: str(o.label != null ? o.label : o.name != null ? o.name : value) };
      }
      return { value: str(o), label: str(o) };
    });
  }

  function buildControl(f, idx) {
    const id = "woes-f" + idx;
    const errId = id + "-err";
    const type = str(f.type) || "text";
    const label = str(f.label || f.key);
    const required = !!f.required;
    const err = h("div", { class: "field-error", id: errId });
    const reqMark = required ? h("span", { class: "req", "aria-hidden": "true", text: "*" }) : null;
    const hint = f.description ? h("div", { class: "hint", id: id + "-hint", text: str(f.description) }) : null;
    const described = (hint ? id + "-hint " : "") + errId;
    let wrap;
    let get;
    let set;
    let focusEl;
    let invalidEls;

    if (type === "multi_select" || type === "boolean") {
      if (type === "boolean") {
        const box = h("input", { type: "checkbox", id, "aria-describedby": described });
        wrap = h("div", { class: "field" }, [
          hint,
          h("label", { class: "check", for: id }, [box, h("span", { text: label }), reqMark]),
          err,
        ]);
        get = () => box.checked;
        set = (v) => { box.checked = v === true || v === "true" || v === 1; };
        focusEl = box;
        invalidEls = [box];
      } else {
        const opts = optionList(f.options);
        const boxes = opts.map((o, j) => h("input", { type: "checkbox", id: id + "-" + j, value: o.value, name: id }));
        wrap = h("fieldset", { class: "field", "aria-describedby": described }, [
          h("legend", null, [label, reqMark]),
          hint,
          opts.map((o, j) => h("label", { class: "check", for: id + "-" + j }, [boxes[j], h("span", { text: o.label })])),
          err,
        ]);
        get = () => boxes.filter((b) => b.checked).map((b) => b.value);
        set = (v) => {
          const vals = (Array.isArray(v) ? v : [v]).map(str);
          boxes.forEach((b) => { b.checked = vals.indexOf(b.value) >= 0; });
        };
        focusEl = boxes[0] || null;
        invalidEls = boxes;
      }
    } else {
      let control;
      if (type === "select") {
        control = h("select", { id, "aria-describedby": described }, [
          h("option", { value: "", text: "Choose…" }),
          optionList(f.options).map((o) => h("option", { value: o.value, text: o.label })),
        ]);
      } else {
        const attrs = { id, "aria-describedby": described, autocomplete: "off" };
        if (type === "number") Object.assign(attrs, { type: "number", step: "1", inputmode: "numeric" });
        else if (type === "decimal") Object.assign(attrs, { type: "number", step: "any", inputmode: "decimal" });
        else if (type === "date") attrs.type = "date";
        else if (type === "url") Object.assign(attrs, { type: "url", inputmode: "url", placeholder: "https://" });
        else attrs.type = "text";
        control = h("input", attrs);
      }
      if (required) control.setAttribute("aria-required", "true");
      wrap = h("div", { class: "field" }, [h("label", { for: id }, [label, reqMark]), hint, control, err]);
      get = () => control.value.trim();
      set = (v) => { control.value = v == null ? "" : Array.isArray(v) ? str(v[0]) : str(v); };
      focusEl = control;
      invalidEls = [control];
      control._bad = () => !!(control.validity && control.validity.badInput);
    }

    const setError = (msg) => {
      err.textContent = msg || "";
      invalidEls.forEach((x) => {
        if (msg) x.setAttribute("aria-invalid", "true");
        else x.removeAttribute("aria-invalid");
      });
    };

    const validate = () => {
      const v = get();
      const bad = focusEl && focusEl._bad && focusEl._bad();
      if (type === "boolean") return { ok: true, value: v };
      if (type === "multi_select") {
        if (required && !v.length) return { ok: false, msg: label + " is required." };
        return { ok: true, value: v.length ? v : undefined };
      }
      if (v === "" && !bad) return required ? { ok: false, msg: label + " is required." } : { ok: true, value: undefined };
      if (type === "number") {
        if (bad || !/^-?\d+$/.test(v)) return { ok: false, msg: "Enter a whole number." };
        return { ok: true, value: parseInt(v, 10) };
      }
      if (type === "decimal") {
        const n = Number(v);
        if (bad || !isFinite(n)) return { ok: false, msg: "Enter a number." };
        return { ok: true, value: n };
      }
      if (type === "url" && !safeUrl(v)) return { ok: false, msg: "Enter a full web address starting with http:// or https://." };
      if (type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(v)) return { ok: false, msg: "Enter a date." };
      return { ok: true, value: v };
    };

    return { key: str(f.key), wrap, set, setError, validate, focus: () => focusEl && focusEl.focus() };
  }

  function showForm(key) {
    if (!config) {
      pendingFormKey = key;
      show();
      return;
    }
    const def = findForm(key);
    if (!def) {
      warn('no ticket form with key "' + key + '".');
      return;
    }
    buildForm(def);
    view = "form";
    render();
    if (!isOpen) show();
    else focusComposer();
  }

  function buildForm(def) {
    clear(formEl);
    const fields = Array.isArray(def.fields) ? def.fields.filter((f) => f && f.key != null) : [];
    const controls = fields.map((f, i) => buildControl(f, i));
    const bodyErr = h("div", { class: "field-error", id: "woes-fbody-err" });
    const body = h("textarea", { id: "woes-fbody", rows: "5", maxlength: "8000", "aria-required": "true", "aria-describedby": "woes-fbody-err" });
    const formError = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "btn" }, "Submit");
    const state = { def, controls, body, bodyErr, submit, formError, busy: false };

    const setBodyError = (msg) => {
      bodyErr.textContent = msg || "";
      if (msg) body.setAttribute("aria-invalid", "true");
      else body.removeAttribute("aria-invalid");
    };
    state.setBodyError = setBodyError;

    const form = h("form", { novalidate: true, onsubmit: (e) => { e.preventDefault(); submitForm(state); } }, [
      controls.map((c) => c.wrap),
      h("div", { class: "field" }, [
        h("label", { for: "woes-fbody" }, ["Describe your issue", h("span", { class: "req", "aria-hidden": "true", text: "*" })]),
        body,
        bodyErr,
      ]),
      formError,
      h("div", { class: "actions" }, [submit, h("button", { type: "button", class: "btn quiet", onclick: closeForm }, "Cancel")]),
    ]);

    add(formEl, [
      h("button", { type: "button", class: "back", onclick: closeForm }, [icon("back"), "Back"]),
      h("h3", { text: str(def.title || def.key) }),
      def.description ? h("p", { class: "desc", text: str(def.description) }) : null,
      form,
    ]);
    currentForm = state;
    applyPrefill();
  }

  function applyPrefill() {
    if (!currentForm) return;
    currentForm.controls.forEach((c) => {
      if (Object.prototype.hasOwnProperty.call(formPrefill, c.key)) c.set(formPrefill[c.key]);
    });
    if (typeof formPrefill.body === "string" && !currentForm.controls.some((c) => c.key === "body") && !currentForm.body.value) {
      currentForm.body.value = formPrefill.body;
    }
  }

  function closeForm() {
    view = "chat";
    currentForm = null;
    clear(formEl);
    render();
    focusComposer();
  }

  async function submitForm(state) {
    if (state.busy) return;
    state.formError.textContent = "";
    const values = {};
    let firstBad = null;
    state.controls.forEach((c) => {
      const r = c.validate();
      c.setError(r.ok ? "" : r.msg);
      if (!r.ok && !firstBad) firstBad = c;
      if (r.ok && r.value !== undefined) values[c.key] = r.value;
    });
    const text = state.body.value.trim();
    state.setBodyError(text ? "" : "Describe your issue is required.");
    if (firstBad) {
      firstBad.focus();
      return;
    }
    if (!text) {
      state.body.focus();
      return;
    }
    const payload = {
      body: text,
      ticketForm: str(state.def.key),
      fields: Object.assign({}, newFields, values),
      visitorId: store.visitorId,
    };
    newConversationExtras(payload);
    state.busy = true;
    state.submit.disabled = true;
    state.submit.textContent = "Sending…";
    let res;
    let err = null;
    try {
      res = await api("POST", "/messages", payload);
    } catch (e1) {
      err = e1;
    }
    if (err && dropRefusedExtras(err, payload)) {
      err = null;
      try {
        res = await api("POST", "/messages", payload);
      } catch (e2) {
        err = e2;
      }
    }
    if (err) {
      state.busy = false;
      state.submit.disabled = false;
      state.submit.textContent = "Submit";
      let placed = false;
      (err.errors || []).forEach((fe) => {
        const field = str(fe && fe.field).replace(/^(body\.)?(fields[.[])?/, "").replace(/\]$/, "");
        const msg = str(fe && fe.message);
        if (!msg) return;
        if (field === "body" || str(fe.field) === "body") {
          state.setBodyError(msg);
          placed = true;
          return;
        }
        const c = state.controls.find((x) => x.key === field);
        if (c) {
          c.setError(msg);
          placed = true;
        }
      });
      state.formError.textContent = err.detail || (placed ? "Please check the highlighted fields." : "");
      return;
    }
    if (currentForm !== state) return;
    if (!started(res, false)) {
      state.busy = false;
      state.submit.disabled = false;
      state.submit.textContent = "Submit";
      state.formError.textContent = "The request could not be sent. Please try again.";
      return;
    }
    if (res.message) upsert(res.message, "post");
    if (res.conversation) applyConversation(res.conversation, false);
    currentForm = null;
    clear(formEl);
    view = "chat";
    render();
    scrollDown(true);
    ensurePageView();
    openStream();
    focusComposer();
  }

  // ------------------------------------------------------------------ show / hide
  function show() {
    if (!isOpen) {
      const active = d.activeElement;
      returnFocus = active && active !== host && active !== d.body ? active : null;
      isOpen = true;
      panel.hidden = false;
      root.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.replaceChild(icon("down"), launcher.firstChild);
      scrollDown(true);
      markSeen();
      call(cbShow);
    }
    focusComposer();
  }

  function hide(restoreFocus) {
    if (!isOpen) return;
    const focusInside = shadow.activeElement && panel.contains(shadow.activeElement);
    isOpen = false;
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.replaceChild(icon("chat"), launcher.firstChild);
    stopTyping();
    if (restoreFocus || focusInside) {
      if (bubbleVisible) launcher.focus();
      else if (returnFocus && d.contains(returnFocus)) returnFocus.focus();
    }
    call(cbHide);
  }

  // ------------------------------------------------------------------ identify
  async function runIdentify() {
    identifyWanted = false;
    const sent = identity;
    if (!sent) return;
    let res;
    try {
      res = await api("POST", "/identify", Object.assign({}, sent, { visitorId: store.visitorId }));
    } catch (err) {
      if (identity === sent && (err.status === 401 || err.status === 403 || err.status === 422)) identity = null;
      warn("identify failed: " + err.detail);
      return;
    }
    if (identity !== sent || !res) return;
    const convs = Array.isArray(res.conversations) ? res.conversations : [];
    convs.forEach((c) => {
      if (c && c.id != null && c.conversationSecret) {
        rememberConversation({
          id: str(c.id), secret: str(c.conversationSecret), subject: c.subject, status: c.status, lastMessageAt: c.lastMessageAt,
        });
      }
    });
    if (!conv && !entries.length && view === "chat") {
      const open = store.conversations
        .filter((c) => c.secret && c.status !== "solved" && convs.some((x) => x && str(x.id) === c.id))
        .sort((a, b) => ts(b.lastMessageAt) - ts(a.lastMessageAt))[0];
      if (open) {
        loadConversation(open.id, open.secret);
        return;
      }
    }
    render();
  }

  // ------------------------------------------------------------------ config
  async function loadConfig() {
    configState = "loading";
    render();
    try {
      const data = await api("GET", "/config");
      config = isObject(data) ? data : {};
      configState = "ready";
    } catch (err) {
      configState = "error";
      configError = err.detail;
      render();
      return;
    }
    applyBranding();
    render();
    if (identifyWanted) runIdentify();
    if (pendingFormKey != null) {
      const key = pendingFormKey;
      pendingFormKey = null;
      showForm(key);
    }
  }

  // ------------------------------------------------------------------ commands
  function callback(name, cb) {
    if (cb != null && typeof cb !== "function") warn(name + " expects a function or null.");
    return typeof cb === "function" ? cb : null;
  }

  const commands = {
    show() {
      if (view === "form" && !currentForm) view = "chat";
      show();
    },
    hide() {
      hide(false);
    },
    onShow(cb) {
      cbShow = callback("onShow", cb);
    },
    onHide(cb) {
      cbHide = callback("onHide", cb);
    },
    hideChatBubble() {
      bubbleVisible = false;
      renderBadge();
    },
    showChatBubble() {
      bubbleVisible = true;
      renderBadge();
    },
    setTheme(theme) {
      if (theme === "dark" || theme === "light") themeChoice = theme;
      else if (theme == null || theme === "auto" || theme === "system") themeChoice = null;
      else {
        warn('setTheme expects "dark" or "light".');
        return;
      }
      applyTheme();
    },
    onChangeUnreadMessagesCount(cb) {
      cbUnread = callback("onChangeUnreadMessagesCount", cb);
      if (cbUnread) call(cbUnread, store.unread);
    },
    identify(payload) {
      if (!isObject(payload)) {
        warn("identify expects an object like {email, name} or {jwt}.");
        return;
      }
      identity = Object.assign({}, payload);
      identifyWanted = true;
      if (config) runIdentify();
    },
    setNewConversationFields(fields) {
      if (!isObject(fields)) {
        warn("setNewConversationFields expects an object.");
        return;
      }
      newFields = Object.assign({}, newFields, fields);
    },
    showNewMessage(text) {
      if (view === "form") closeForm();
      show();
      input.value = text == null ? "" : str(text);
      autosize();
      focusComposer();
      try {
        input.setSelectionRange(input.value.length, input.value.length);
      } catch (_) {
        /* not focusable yet */
      }
    },
    showTicketForm(key) {
      if (key == null || key === "") {
        warn("showTicketForm expects a form key.");
        return;
      }
      showForm(str(key));
    },
    setTicketFormFields(values) {
      if (!isObject(values)) {
        warn("setTicketFormFields expects an object of values by field key.");
        return;
      }
      formPrefill = Object.assign({}, formPrefill, values);
      applyPrefill();
    },
    setVisibleTicketForms(keys) {
      if (keys != null && !Array.isArray(keys)) {
        warn("setVisibleTicketForms expects an array of form keys or null.");
        return;
      }
      visibleForms = keys ? keys.map(str) : null;
      renderIntro();
    },
    setContext(ctx) {
      if (!isObject(ctx)) {
        warn("setContext expects an object.");
        return;
      }
      Object.keys(ctx).forEach((k) => {
        const v = ctx[k];
        if (v === undefined || v === null) {
          delete context[k];
          return;
        }
        if (!k || k.length > 64) {
          warnOnce("ctxkey", "setContext keys are 1 to 64 characters; ignored \"" + k.slice(0, 20) + "…\".");
          return;
        }
        if (!(k in context) && Object.keys(context).length >= 20) {
          warnOnce("ctxmax", "setContext keeps at most 20 keys; ignored the rest.");
          return;
        }
        // the server takes short scalar values: flatten anything else to text
        let value = v;
        if (typeof v === "object") {
          try {
            value = JSON.stringify(v);
          } catch (_) {
            value = String(v);
          }
        } else if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") value = String(v);
        if (typeof value === "number" && !isFinite(value)) value = String(value);
        if (typeof value === "string" && value.length > 500) value = value.slice(0, 500);
        context[k] = value;
      });
      contextSentFor = null;
      flushContext();
    },
  };

  // ------------------------------------------------------------------ boot
  function boot() {
    if (disabled) {
      ready = true;
      pending.length = 0;
      return;
    }
    buildUI();
    loadConfig();
    if (store.conversationId && store.conversationSecret) loadConversation(store.conversationId, store.conversationSecret);
    ready = true;
    const queued = pending.splice(0, pending.length);
    queued.forEach(run);
  }

  if (d.body) boot();
  else d.addEventListener("DOMContentLoaded", boot, { once: true });
})();

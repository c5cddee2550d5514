"""The live-chat widget in a real browser (Debian chromium driven by Playwright), on a host page of another origin,
against the real Woes server: the documented snippet and its queued commands, sending, live operator replies, the
agent's cited answer, themes, the unread count, HMAC and JWT identity, history, CSAT, a phone-sized screen and
keyboard-only use. Every test looks at the widget's DOM in its shadow root and at the server's state through its
API; a screenshot of each is left in test-artifacts/widget/."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from pathlib import Path

import httpx
import jwt
import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, Tab, host_site, snippet_page
from support.live_server import serving
from support.waiting import wait_for
from test_widget_api import SPEC

from woes.agents import responding
from woes.app import create_app

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"Debian chromium is not installed ({CHROMIUM}); `apt-get install -y chromium` to run the widget's "
                "browser tests (in CI they fail instead)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402 (only once chromium is known to be there)

# One database is enough for what a browser sees; the widget API runs on both in test_widget_*.py.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)]


@pytest.fixture
def settings(settings):
    settings.embedded_workers = 2  # the server runs the agent's reply job itself, as `woes serve` does
    return settings


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: scripts/test.sh installs Debian chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site():
    with host_site() as s:
        yield s


@pytest.fixture
def live(settings, runtime):
    with serving(create_app(settings, runtime, background=True, migrate=False)) as base:
        yield base


@pytest.fixture
def api(live, ws):
    with httpx.Client(base_url=live, headers=ws.headers, timeout=20) as c:
        yield c


@pytest.fixture
def key(api, site) -> str:
    r = api.post("/api/v1/widget-keys", json={"name": "Docs", "allowedOrigins": [site.origin]})
    assert r.status_code == 201, r.text
    return r.json()["publicKey"]


@pytest.fixture
def open_tab(browser, site, live, key, request):
    """open_tab(before=..., body=..., title=..., viewport=...) -> a Tab on a fresh browser context (its own storage). At the end
    each tab leaves a screenshot, and none may have logged a console error, a page error or a widget warning."""
    tabs: list[tuple[object, Tab]] = []

    def open_(before: str = "", body: str = "", viewport: dict | None = None, **page) -> Tab:
        ctx = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        tab = Tab(ctx.new_page(), key).listen()
        tab.page.set_default_timeout(15_000)
        path = f"/{request.node.originalname}-{len(tabs)}.html"
        tab.page.goto(site.publish(path, snippet_page(live, key, before=before, body=body, **page)))
        tab.wait_ready()
        tabs.append((ctx, tab))
        return tab

    yield open_
    problems = []
    for i, (_ctx, tab) in enumerate(tabs):
        suffix = f"-{i + 1}" if i else ""
        try:
            tab.shot(f"{request.node.originalname}{suffix}")
        except Exception as exc:  # a screenshot is a by-product: never hide the test's own outcome behind it
            problems.append(f"screenshot: {exc}")
        problems += tab.errors + [f"widget warning: {w}" for w in tab.warnings]
    for ctx, _ in tabs:
        ctx.close()
    assert not problems, problems


def _conversations(api) -> list[dict]:
    r = api.get("/api/v1/conversations")
    assert r.status_code == 200, r.text
    return r.json()["conversations"]


def _only_conversation(api) -> dict:
    assert wait_for(lambda: len(_conversations(api)) == 1, 10)
    return api.get(f"/api/v1/conversations/{_conversations(api)[0]['id']}").json()


def _reply(api, conversation_id: str, body: str) -> None:
    r = api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, "role": "assistant"})
    assert r.status_code == 201, r.text


def _identity_secret(api, mode: str) -> str:
    assert api.patch("/api/v1/workspace", json={"identityMode": mode}).status_code == 200
    r = api.get("/api/v1/workspace/identity-secret")
    assert r.status_code == 200 and r.json()["identityMode"] == mode, r.text
    return r.json()["secret"]


# ------------------------------------------------------------------------------------------------ tests

def test_queued_commands_take_effect_when_the_script_loads(open_tab):
    tab = open_tab(before='Woes("onShow", () => { window.shown = true; }); Woes("setTheme", "dark"); Woes("show");')
    assert tab.page.evaluate("typeof window.Woes.q") == "undefined"  # the real function replaced the stub
    assert tab.js("(root) => root.host.getAttribute('data-theme')") == "dark"
    assert tab.js("(root) => root.querySelector('.root').classList.contains('dark')")
    assert tab.is_open() and tab.q(".launcher").get_attribute("aria-expanded") == "true"
    assert tab.page.evaluate("window.shown") is True
    assert tab.q(".greeting .bubble").inner_text() == "Hi! How can we help?"
    assert tab.q(".header h2").inner_text() == "Acme"  # from /api/widget/config
    assert tab.active()["widget"] == "woes-input"  # show puts the cursor in the composer
    assert tab.style(".panel", "background-color")["background-color"] == "rgb(23, 25, 30)"


def test_a_typed_message_starts_a_live_chat_conversation(open_tab, api):
    title = "Labels · " + "Printing thermal labels on every carrier we support " * 8  # longer than the server keeps
    tab = open_tab(title=title)
    assert not tab.is_open()
    tab.open()
    tab.send("How do I print a shipping label?")
    conv = _only_conversation(api)
    assert conv["channel"] == "live-chat" and conv["subject"] == "How do I print a shipping label?"
    assert conv["customer"]["identitySource"] == "anonymous"
    msgs = api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["messages"]
    assert [m["body"] for m in msgs] == ["How do I print a shipping label?"]
    assert tab.stored()["conversationId"] == conv["id"]
    assert tab.bubbles() == [{"mine": True, "body": "How do I print a shipping label?", "who": None}]
    assert tab.q("#woes-input").input_value() == ""
    # the widget reports the page the visitor is on (with a title cut to what the server takes)
    assert wait_for(lambda: api.get(f"/api/v1/conversations/{conv['id']}/visitor").json().get("page"), 10)
    page = api.get(f"/api/v1/conversations/{conv['id']}/visitor").json()["page"]
    assert page["url"] == tab.page.url and page["title"] == title.strip()[:300]
    # a second conversation from the same page ("New conversation") records the page too
    tab.q(".header .icon-btn[aria-label='New conversation']").click()
    tab.send("And a customs form?")
    second = tab.stored()["conversationId"]
    assert second != conv["id"] and len(_conversations(api)) == 2
    assert wait_for(lambda: api.get(f"/api/v1/conversations/{second}/visitor").json().get("page"), 5)
    assert api.get(f"/api/v1/conversations/{second}/visitor").json()["page"] == page


def test_an_operator_reply_appears_live(open_tab, api):
    tab = open_tab()
    tab.open()
    tab.send("Where is my parcel?")
    tab.page.evaluate("window.sameDocument = true")
    conv = _only_conversation(api)
    assert api.post(f"/api/v1/conversations/{conv['id']}/typing", json={"typing": True}).status_code == 202
    tab.wait_text(".typing", "Acme is typing…")
    _reply(api, conv["id"], "It left the depot this morning: see https://track.example.com/p/1.")
    tab.wait_text(".log .msg.them .bubble", "It left the depot this morning")
    assert tab.page.evaluate("window.sameDocument") is True  # no reload
    them = [b for b in tab.bubbles() if not b["mine"]]
    assert them == [{"mine": False, "body": "It left the depot this morning: see https://track.example.com/p/1.", "who": "Acme"}]
    assert tab.q(".log .msg.them a").get_attribute("href") == "https://track.example.com/p/1"
    assert tab.q(".log .msg.them a").get_attribute("rel") == "noopener noreferrer"
    assert tab.q(".typing").inner_text() == ""  # the reply ends the typing indicator


def _parcel_bot(api, mode: str) -> dict:
    """An agent on the live chat that knows the Parcels API (its source indexed)."""
    source = api.post("/api/v1/sources", json={"name": "Parcels", "type": "openapi", "content": SPEC}).json()
    assert wait_for(lambda: api.get(f"/api/v1/sources/{source['id']}").json().get("status") == "ready", 30), \
        api.get(f"/api/v1/sources/{source['id']}").json()
    r = api.post("/api/v1/agents", json={"name": "Parcel bot", "sourceIds": [source["id"]], "channels": ["live-chat"],
                                         "mode": mode})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_agent_answers_with_numbered_sources(open_tab, api, live, key, site):
    _parcel_bot(api, "auto_reply")
    tab = open_tab()
    assert tab.q(".header .sub").inner_text() == "Parcel bot and the team can help"
    tab.open()
    tab.send("How do I create a shipment?")
    tab.wait_text(".log .msg.them .sources", "Sources", timeout=60_000)
    answer = tab.q(".log .msg.them").last
    assert answer.locator(".who span").first.inner_text() == "Parcel bot"
    assert answer.locator(".tag").inner_text() == "AI"
    assert answer.locator(".sources-title").inner_text().lower() == "sources"
    items = answer.locator(".sources li").all_inner_texts()
    assert items and items[0].startswith("[1] "), items
    conv = _only_conversation(api)
    assert conv["handling"] == "agent"
    assert api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["messages"][-1]["author"]["type"] == "agent"
    history = httpx.get(f"{live}/api/widget/conversations/{conv['id']}/messages", headers={
        "X-Woes-Public-Key": key, "Origin": site.origin, "X-Woes-Conversation-Secret": tab.stored()["conversationSecret"]})
    citations = history.json()["messages"][-1]["citations"]
    assert items == [f"[{c['n']}] {c['title']}" for c in citations]


TEAM = "A person from the team will reply here."
WRITING = "Parcel bot is writing an answer…"


def test_with_no_agent_the_visitor_is_told_a_person_will_reply(open_tab, api):
    tab = open_tab()
    tab.open()
    tab.record_notices()
    tab.send("Can I send a parcel to a PO box?")
    tab.wait_text(".log .notice", TEAM)
    assert tab.notices() == [TEAM] and tab.q(".typing").inner_text() == ""
    conv = _only_conversation(api)
    assert conv["handling"] == "none"
    tab.wait_stream()
    tab.send("It is for a customer in Lyon.")  # the same stretch of waiting: the line stays where it was, once
    assert tab.notices() == [TEAM]
    tab.shot("test_with_no_agent_the_visitor_is_told_a_person_will_reply-waiting")
    _reply(api, conv["id"], "Yes, PO boxes are fine within France.")
    tab.wait_text(".log .msg.them", "Yes, PO boxes are fine within France.")
    tab.wait_js("(root) => !root.querySelector('.log .notice')")  # the reply came: nobody owes one now
    assert tab.q(".typing").inner_text() == ""
    assert [b["body"] for b in tab.bubbles()] == [
        "Can I send a parcel to a PO box?", "It is for a customer in Lyon.", "Yes, PO boxes are fine within France."]
    # the stream is ordered: every frame of the waiting stretch came before the reply, and none added the line again
    assert tab.notice_changes() == ["+" + TEAM, "-" + TEAM]
    tab.send("And to Corsica?")  # a new stretch of waiting: the line comes back, once
    tab.wait_text(".log .notice", TEAM)
    assert tab.notices() == [TEAM]
    assert tab.js("(root) => root.querySelector('.log').lastElementChild.textContent") == TEAM


def test_a_draft_only_agent_means_a_person_will_reply(open_tab, api):
    _parcel_bot(api, "draft")
    tab = open_tab()
    assert tab.q(".header .sub").inner_text() == "Parcel bot and the team can help"
    tab.open()
    tab.record_notices()
    tab.send("How do I create a shipment?")
    tab.wait_text(".log .notice", TEAM)
    conv = _only_conversation(api)
    assert conv["handling"] == "agent"
    assert tab.q(".typing").inner_text() == ""  # the agent does not answer by itself: no "writing" line
    # the agent's answer waits as a draft for an operator's approval; the visitor is told a person will reply
    def drafts() -> list[dict]:
        return api.get("/api/v1/drafts", params={"conversationId": conv["id"]}).json()["drafts"]
    assert wait_for(drafts, 60), api.get(f"/api/v1/conversations/{conv['id']}/agent-runs").json()
    assert tab.notices() == [TEAM] and [b["mine"] for b in tab.bubbles()] == [True]
    tab.shot("test_a_draft_only_agent_means_a_person_will_reply-waiting")
    r = api.post(f"/api/v1/drafts/{drafts()[0]['id']}/approve")
    assert r.status_code == 200, r.text
    tab.wait_text(".log .msg.them .sources", "Sources")
    tab.wait_js("(root) => !root.querySelector('.log .notice')")
    assert tab.q(".log .msg.them .who span").first.inner_text() == "Parcel bot"
    assert tab.notice_changes() == ["+" + TEAM, "-" + TEAM]  # shown once for the whole wait, gone with the answer


@pytest.fixture
def agent_gate(monkeypatch):
    """The server's agent job waits at this gate (until it is set, at most a minute), so the widget's state between
    the visitor's message and the agent's answer can be looked at for as long as needed."""
    gate = threading.Event()
    answer = responding.answer_question

    def held(*args, **kwargs):
        gate.wait(60)
        return answer(*args, **kwargs)

    monkeypatch.setattr(responding, "answer_question", held)
    yield gate
    gate.set()


def test_an_auto_replying_agent_is_shown_writing_until_its_answer_arrives(open_tab, api, agent_gate):
    _parcel_bot(api, "auto_reply")
    tab = open_tab()
    tab.open()
    tab.send("How do I create a shipment?")
    tab.wait_text(".typing", WRITING)
    typing = tab.q(".typing")
    assert typing.inner_text() == WRITING and typing.get_attribute("aria-live") == "polite"
    assert tab.style(".typing", "font-style")["font-style"] == "italic"  # the typing indicator's look
    assert [b["mine"] for b in tab.bubbles()] == [True] and tab.notices() == []
    assert _only_conversation(api)["handling"] == "agent"
    tab.shot("test_an_auto_replying_agent_is_shown_writing_until_its_answer_arrives-writing")
    agent_gate.set()
    tab.wait_text(".log .msg.them .sources", "Sources", timeout=60_000)
    tab.wait_js("(root) => root.querySelector('.typing').textContent === ''")  # the answer replaced the line
    assert tab.notices() == [] and [b["mine"] for b in tab.bubbles()] == [True, False]


def test_a_takeover_while_the_agent_writes_says_a_person_will_reply_once(open_tab, api, agent_gate):
    _parcel_bot(api, "auto_reply")
    tab = open_tab()
    tab.open()
    tab.record_notices()
    tab.send("How do I create a shipment?")
    tab.wait_text(".typing", WRITING)
    conv = _only_conversation(api)
    r = api.post(f"/api/v1/conversations/{conv['id']}/takeover", json={"reason": "A VIP customer."})
    assert r.status_code == 200, r.text
    # the stream's conversation frame now says "team" and carries the handoff notice, which says the same: one line
    tab.wait_text(".log .notice", TEAM)
    tab.wait_js("(root) => root.querySelector('.typing').textContent === ''")
    _reply(api, conv["id"], "Hello, Sam from the shipping team here.")  # after every frame of the takeover
    tab.wait_text(".log .msg.them", "Sam from the shipping team")
    tab.wait_js("(root) => !root.querySelector('.log .notice')")
    assert tab.notice_changes() == ["+" + TEAM, "-" + TEAM]


def test_the_theme_switches_between_light_and_dark(open_tab):
    tab = open_tab(before='Woes("setTheme", "light");')
    tab.open()
    props = ("background-color", "color")
    light = {"panel": tab.style(".panel", *props), "composer": tab.style(".composer textarea", *props),
             "greeting": tab.style(".greeting .bubble", *props)}
    assert light["panel"] == {"background-color": "rgb(255, 255, 255)", "color": "rgb(29, 33, 41)"}
    tab.woes("setTheme", "dark")
    dark = {"panel": tab.style(".panel", *props), "composer": tab.style(".composer textarea", *props),
            "greeting": tab.style(".greeting .bubble", *props)}
    assert dark["panel"] == {"background-color": "rgb(23, 25, 30)", "color": "rgb(231, 233, 237)"}
    for part in light:
        assert light[part] != dark[part], part
    assert tab.js("(root) => root.host.getAttribute('data-theme')") == "dark"
    tab.shot("test_the_theme_switches_between_light_and_dark-dark")
    tab.woes("setTheme", "light")
    assert tab.style(".panel", *props) == light["panel"]
    tab.woes("setTheme", "auto")  # then the visitor's system setting decides, and the widget follows its changes
    tab.page.emulate_media(color_scheme="dark")
    tab.wait_js("(root) => root.host.getAttribute('data-theme') === 'dark'")
    assert tab.style(".panel", *props) == dark["panel"]
    tab.page.emulate_media(color_scheme="light")
    tab.wait_js("(root) => root.host.getAttribute('data-theme') === 'light'")


def test_the_unread_count_callback(open_tab, api):
    tab = open_tab(before="window.counts = []; Woes('onChangeUnreadMessagesCount', (n) => window.counts.push(n));")
    tab.open()
    tab.send("Can I change the delivery address?")
    tab.woes("hide")
    assert not tab.is_open()
    conv = _only_conversation(api)
    _reply(api, conv["id"], "Yes, until the parcel is picked up.")
    tab.page.wait_for_function("window.counts[window.counts.length - 1] === 1")
    assert tab.q(".launcher .badge").inner_text() == "1" and tab.q(".launcher .badge").is_visible()
    assert tab.q("#woes-unread").inner_text() == "1 unread message"
    tab.shot("test_the_unread_count_callback-badge")
    tab.q(".launcher").click()
    tab.page.wait_for_function("window.counts[window.counts.length - 1] === 0")
    assert tab.page.evaluate("window.counts") == [0, 1, 0]
    assert not tab.q(".launcher .badge").is_visible()
    # opening marked the reply read on the server
    assert wait_for(lambda: api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["messages"][-1]["readAt"], 10)


def test_identify_with_hmac(open_tab, api):
    secret = _identity_secret(api, "hmac")
    email = "Ada@Example.com"
    proof = hmac.new(bytes.fromhex(secret), email.lower().encode(), hashlib.sha256).hexdigest()
    tab = open_tab(before=f'Woes("identify", {{email: "{email}", name: "Ada Lovelace", email_hash: "{proof}"}});')
    tab.open()
    tab.send("My label will not print.")
    conv = _only_conversation(api)
    assert conv["customer"]["identitySource"] == "hmac"
    assert conv["customer"]["email"] == "ada@example.com" and conv["customer"]["name"] == "Ada Lovelace"


def _token(secret: str, key: str, email: str) -> str:
    now = int(time.time())
    return jwt.encode({"email": email, "name": "Ada Lovelace", "aud": key, "iat": now, "exp": now + 600,
                       "contact_external_id": "user_7"}, secret, algorithm="HS256")


def test_identify_with_jwt_and_history_on_a_second_device(open_tab, api, key):
    token = _token(_identity_secret(api, "jwt"), key, "ada@example.com")
    identify = f'Woes("identify", {{jwt: "{token}"}});'
    laptop = open_tab(before=identify)
    laptop.open()
    laptop.send("Where is my label?")
    conv = _only_conversation(api)
    assert conv["customer"]["identitySource"] == "jwt" and conv["customer"]["email"] == "ada@example.com"
    _reply(api, conv["id"], "Under Shipments, then Labels.")
    laptop.wait_text(".log .msg.them", "Under Shipments, then Labels.")
    phone = open_tab(before=identify + " Woes('show');")  # a new browser context: no storage of the laptop's
    phone.wait_text(".log .msg.them", "Under Shipments, then Labels.")
    assert [b["body"] for b in phone.bubbles()] == ["Where is my label?", "Under Shipments, then Labels."]
    assert phone.stored()["conversationSecret"] != laptop.stored()["conversationSecret"]
    phone.send("Thanks, found it.")  # the phone's secret writes in the same conversation
    laptop.wait_text(".log .msg.me", "Thanks, found it.")
    assert len(_conversations(api)) == 1


def test_history_after_a_reload(open_tab, api):
    tab = open_tab()
    tab.open()
    tab.send("Do you ship to Norway?")
    conv = _only_conversation(api)
    _reply(api, conv["id"], "Yes, with **DHL** and `Posten`.")
    tab.wait_text(".log .msg.them", "Yes, with DHL and Posten.")
    tab.page.reload()
    tab.wait_ready()
    tab.open()
    tab.wait_text(".log .msg.them", "Yes, with DHL and Posten.")
    assert [b["body"] for b in tab.bubbles()] == ["Do you ship to Norway?", "Yes, with DHL and Posten."]
    assert tab.q(".log .msg.them strong").inner_text() == "DHL" and tab.q(".log .msg.them code").inner_text() == "Posten"
    tab.send("And to Iceland?")  # the same conversation continues after the reload
    msgs = api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["messages"]
    assert [m["body"] for m in msgs][-1] == "And to Iceland?" and len(_conversations(api)) == 1


def test_csat_after_the_operator_resolves(open_tab, api):
    tab = open_tab()
    tab.open()
    tab.send("How long does a refund take?")
    conv = _only_conversation(api)
    _reply(api, conv["id"], "Three to five working days.")
    assert api.patch(f"/api/v1/conversations/{conv['id']}", json={"status": "solved"}).status_code == 200
    tab.wait_text(".after .csat", "How did we do?")
    assert tab.q(".after .closed").inner_text().startswith("This conversation is closed")
    tab.q(".csat textarea").fill("Quick and right")
    tab.q('.csat button[aria-label="5 of 5"]').click()
    tab.wait_text(".after .thanks", "Thanks for your feedback")
    events = api.get("/api/v1/events", params={"type": "survey.response_created"}).json()["events"]
    assert [e["data"]["score"] for e in events] == [5] and events[0]["data"]["channel"] == "live-chat"
    assert api.get(f"/api/v1/conversations/{conv['id']}").json()["status"] == "solved"


def test_a_360_px_screen(open_tab, api):
    tab = open_tab(viewport={"width": 360, "height": 640})
    tab.open()
    panel = tab.q(".panel").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": 360, "height": 640}, panel
    assert not tab.q(".launcher").is_visible()  # the close button in the header takes its place
    tab.send("A long one: https://docs.example.com/v1/shipments/" + "x" * 120 + " and averyveryveryverylongwordwithoutanybreaks")
    conv = _only_conversation(api)
    _reply(api, conv["id"], "Try `GET /v1/shipments/{id}/label?format=pdf&size=a6&copies=1&include=customs-declaration` "
                            "or see https://docs.example.com/" + "y" * 100)
    tab.wait_text(".log .msg.them", "Try GET")
    sizes = tab.js("""(root) => ({
        page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
        scroll: [root.querySelector('.scroll').scrollWidth, root.querySelector('.scroll').clientWidth],
        widest: Math.max(...[...root.querySelectorAll('.panel *')].map((n) => n.getBoundingClientRect().right)),
        composer: root.querySelector('.composer').getBoundingClientRect().width})""")
    assert sizes["page"] <= sizes["view"] == 360, sizes
    assert sizes["scroll"][0] <= sizes["scroll"][1], sizes
    assert sizes["widest"] <= 360, sizes
    assert sizes["composer"] == 360, sizes
    tab.shot("test_a_360_px_screen-open")
    tab.q(".header .icon-btn[aria-label='Close chat']").click()
    assert not tab.is_open() and tab.q(".launcher").is_visible()


def test_keyboard_only(open_tab, api):
    tab = open_tab(body='<p><a href="#pricing">Pricing</a></p>')
    page = tab.page
    page.keyboard.press("Tab")
    assert tab.active() == {"page": "a", "widget": None}
    page.keyboard.press("Tab")
    assert tab.active() == {"page": "woes-widget", "widget": "launcher"}
    page.keyboard.press("Enter")
    tab.wait_js("(root) => !root.querySelector('.panel').hidden")
    assert tab.active()["widget"] == "woes-input"
    page.keyboard.type("Can I pay by invoice?")
    page.keyboard.press("Enter")
    tab.wait_sent("Can I pay by invoice?")
    assert tab.active()["widget"] == "woes-input"
    page.keyboard.press("Escape")
    tab.wait_js("(root) => root.querySelector('.panel').hidden")
    assert tab.active() == {"page": "woes-widget", "widget": "launcher"}
    assert tab.q(".launcher").get_attribute("aria-expanded") == "false"
    assert _only_conversation(api)["subject"] == "Can I pay by invoice?"
    page.keyboard.press("Enter")  # and back in
    tab.wait_js("(root) => !root.querySelector('.panel').hidden")
    assert tab.active()["widget"] == "woes-input"


def test_a_rotated_history_secret_ends_the_conversation_in_the_widget(open_tab, api):
    tab = open_tab()
    tab.open()
    tab.send("Please delete my account.")
    first = _only_conversation(api)
    tab.wait_stream()  # the stream sees the rotation (the next request with the old secret would get a 404)
    assert api.post(f"/api/v1/conversations/{first['id']}/history-secret/rotate").status_code == 200
    tab.wait_text(".log .notice", "The conversation is no longer available here.")
    assert [b["body"] for b in tab.bubbles()] == ["Please delete my account."]  # what was said stays readable
    assert tab.stored().get("conversationId") is None
    assert all(c["id"] != first["id"] for c in tab.stored().get("conversations", []))  # its dead secret is gone
    tab.send("Is anyone there?")  # starts a new conversation instead of failing on the revoked secret
    assert wait_for(lambda: len(_conversations(api)) == 2, 10)
    assert tab.stored()["conversationId"] not in (None, first["id"])
    assert [b["body"] for b in tab.bubbles()] == ["Please delete my account.", "Is anyone there?"]


def _two_conversations_merged(open_tab, api) -> tuple[Tab, str, str]:
    """The visitor asks twice (a second conversation with "New conversation"); the operator merges the second,
    which the widget shows, into the first."""
    tab = open_tab()
    tab.open()
    tab.send("First question: customs forms?")
    first = _only_conversation(api)["id"]
    tab.q(".header .icon-btn[aria-label='New conversation']").click()
    tab.send("Second question: insurance?")
    assert wait_for(lambda: len(_conversations(api)) == 2, 10)
    second = tab.stored()["conversationId"]
    assert second != first
    r = api.post(f"/api/v1/conversations/{first}/merge", json={"sourceConversationId": second})
    assert r.status_code == 200, r.text
    return tab, first, second


def test_a_merged_conversation_follows_into_the_one_it_became(open_tab, api):
    tab, first, second = _two_conversations_merged(open_tab, api)
    _reply(api, first, "Both answered: forms at /customs, insurance at /insurance.")
    assert api.patch(f"/api/v1/conversations/{first}", json={"status": "solved"}).status_code == 200
    tab.page.reload()
    tab.wait_ready()
    tab.open()
    tab.wait_text(".log .msg.them", "Both answered")
    assert [b["body"] for b in tab.bubbles()] == [
        "First question: customs forms?", "Second question: insurance?", "Both answered: forms at /customs, insurance at /insurance."]
    tab.wait_text(".after .csat", "How did we do?")  # the state shown is the merged conversation's
    tab.q('.csat button[aria-label="4 of 5"]').click()
    tab.wait_text(".after .thanks", "Thanks for your feedback")
    events = api.get("/api/v1/events", params={"type": "survey.response_created"}).json()["events"]
    assert [(e["data"]["score"], e["data"].get("conversationId")) for e in events] == [(4, first)]


def test_after_a_merge_replies_in_the_merged_conversation_arrive_live(open_tab, api):
    tab, first, _second = _two_conversations_merged(open_tab, api)
    tab.wait_text(".log .msg.me", "First question: customs forms?")  # the merge itself reached the stream
    _reply(api, first, "Both answered in one place.")
    tab.wait_text(".log .msg.them", "Both answered in one place.", timeout=3_000)

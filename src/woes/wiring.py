"""How the domains are connected, in one place, at start-up.

A domain calls only domains below it (docs/architecture.md). When a lower domain's change concerns a higher
one (a customer merge moves conversations, a deleted source leaves agents), the lower domain declares
`core.hooks.Hooks` and this module connects the higher domain's public functions to them. `wire()` also
imports every domain's job handlers (`<domain>/tasks.py`). `Runtime.build` calls it, so every process that
serves requests or runs jobs — `woes serve`, `woes worker`, tests, bench scripts — behaves the same whatever
it happened to import before.
"""

from __future__ import annotations

import importlib
import threading

from woes.models import domain_modules

_lock = threading.Lock()
_wired = False


def wire() -> None:
    """Connect every cross-domain hook and register every job handler (idempotent)."""
    global _wired
    with _lock:
        if _wired:
            return
        from woes.agents import service as agents
        from woes.conversations import service as conversations
        from woes.customers import service as customers
        from woes.issues import service as issues
        from woes.keys import service as keys
        from woes.notes import service as notes
        from woes.search import routes as search_routes
        from woes.sources import service as sources
        from woes.tags import service as tags

        customers.CUSTOMER_MERGE_HOOKS.connect(conversations.move_conversations_on_customer_merge)
        customers.CUSTOMER_DELETE_HOOKS.connect(conversations.refuse_delete_with_conversations)
        tags.TAG_RENAME_HOOKS.connect(conversations.follow_tag_rename)
        tags.TAG_RENAME_HOOKS.connect(issues.follow_tag_rename)
        sources.SOURCE_DELETE_HOOKS.connect(agents.forget_deleted_source)
        conversations.add_assignee_check("agent", agents.is_agent)
        search_routes.use_agent_sources(agents.agent_source_ids)
        keys.use_agent_check(agents.is_agent)
        notes.add_note_target("conversation", conversations.get_conversation)
        notes.add_note_target("issue", issues.get_issue)
        for module in domain_modules("tasks"):  # job handlers: @job_handler registers each by name
            importlib.import_module(module)
        _wired = True

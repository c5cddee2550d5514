"""Cross-domain hooks and job handlers are connected by woes.wiring.wire(), not by what a process imported."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import woes.app, woes.agents.service, woes.conversations.service, woes.issues.service  # everything imported
from woes.customers.service import CUSTOMER_MERGE_HOOKS, CUSTOMER_DELETE_HOOKS
from woes.tags.service import TAG_RENAME_HOOKS
from woes.sources.service import SOURCE_DELETE_HOOKS
from woes.jobs.registry import HANDLERS
def names(h): return sorted(f.__module__ + "." + f.__name__ for f in h)
before = [names(CUSTOMER_MERGE_HOOKS), names(TAG_RENAME_HOOKS), names(SOURCE_DELETE_HOOKS)]
print(before)
from woes.wiring import wire
wire(); wire()
print([names(CUSTOMER_MERGE_HOOKS), names(CUSTOMER_DELETE_HOOKS), names(TAG_RENAME_HOOKS), names(SOURCE_DELETE_HOOKS)])
print(sorted(HANDLERS))
"""


def test_importing_connects_nothing_and_wire_connects_each_hook_once():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[[], [], []]"  # importing every domain wires nothing
    merge, delete, tags, sources = eval(out[1])  # noqa: S307 (our own printed literal)
    assert merge == ["woes.conversations.service.move_conversations_on_customer_merge"]
    assert delete == ["woes.conversations.service.refuse_delete_with_conversations"]
    assert tags == ["woes.conversations.service.follow_tag_rename", "woes.issues.service.follow_tag_rename"]
    assert sources == ["woes.agents.service.forget_deleted_source"]
    assert "knowledge.scan" in eval(out[2])  # noqa: S307


def test_a_worker_process_is_wired_before_it_takes_jobs():
    probe = ("from woes.cli import load_job_modules; load_job_modules();"
             "from woes.customers.service import CUSTOMER_MERGE_HOOKS; print(len(list(CUSTOMER_MERGE_HOOKS)))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "1"

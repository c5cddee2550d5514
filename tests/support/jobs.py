"""Running queued jobs in the test's process, the way a worker would."""

from __future__ import annotations

import threading
import time


def _busy(runtime) -> bool:
    return any(j.status in ("queued", "running") for j in runtime.queue.list_jobs())


def run_jobs(runtime, *, dispatch_events: bool = False, timeout: float = 120) -> None:
    """Run queued jobs to completion. With `dispatch_events`, committed events are dispatched first and again
    until nothing is left (outbox consumers enqueue jobs, such as the agent's reply), as a server would."""
    stop = threading.Event()
    worker = threading.Thread(target=runtime.queue.run_worker, args=(stop,), kwargs={"concurrency": 1}, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if dispatch_events:
                runtime.relay.dispatch_pending()
            if not _busy(runtime):
                if dispatch_events:
                    runtime.relay.dispatch_pending()
                if not _busy(runtime):
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(30)

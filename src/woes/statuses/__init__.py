"""Statuses (SPEC §4, §5): a workspace's labels for the lifecycle states open, waiting and solved."""

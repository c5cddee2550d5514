"""Priorities (SPEC §4): a workspace's ordered priority labels, exactly one of them the default."""

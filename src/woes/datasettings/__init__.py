"""Workspace data settings (SPEC §4): tags, custom fields, statuses and priorities."""

"""Tags (SPEC §4): labels for conversations and issues; renames and deletions reach the records that carry them."""

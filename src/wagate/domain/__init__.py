"""Pure rules, no I/O: message lifecycle, pacing, retry policy, phone numbers, templates."""

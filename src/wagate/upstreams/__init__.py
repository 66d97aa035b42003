"""Upstreams: where messages go to reach WhatsApp (Meta's Cloud API, or the built-in simulator)."""

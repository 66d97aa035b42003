"""Outbound network access: every URL wagate fetches or calls goes through these checks."""

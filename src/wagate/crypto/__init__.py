"""Encryption at rest: the key ring from settings, sealing of values, and the blind search index."""

"""Digests: what a person gets each day."""

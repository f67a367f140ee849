"""Parsing feed documents."""

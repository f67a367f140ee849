"""Ingest: sources → fetch → parse → clean → store."""

"""Thin shells around the ledger: composition root, operation dispatch, HTTP, CLI."""

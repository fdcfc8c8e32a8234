"""The write side's storage: event stores, the audit table, the writers' lock (SQLite, PostgreSQL)."""

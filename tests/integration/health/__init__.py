"""Integration tests of the health insurer (real registry, SQLite and PostgreSQL)."""

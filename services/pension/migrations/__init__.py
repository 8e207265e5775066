"""Alembic migrations of the pension database."""

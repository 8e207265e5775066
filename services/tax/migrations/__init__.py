"""Alembic migrations of the tax database."""

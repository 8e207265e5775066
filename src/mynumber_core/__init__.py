"""Shared library of the My Number platform: one named module per concern."""

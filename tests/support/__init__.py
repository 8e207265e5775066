"""Test helpers shared by every test layer."""

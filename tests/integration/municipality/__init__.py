"""Integration tests of the municipality."""

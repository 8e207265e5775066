"""Unit tests of the municipality."""

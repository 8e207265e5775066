"""Unit tests of the health insurer."""

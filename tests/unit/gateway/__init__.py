"""Unit tests of the gateway's domain rules."""

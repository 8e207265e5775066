"""Integration tests of the gateway (the portal's HTTP API over real services)."""

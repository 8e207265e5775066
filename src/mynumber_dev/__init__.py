"""Developer tooling: dev keys and certificates, synthetic residents, the local launcher."""

"""The test suite: unit, integration (in-process servers on port 0), e2e (processes)."""

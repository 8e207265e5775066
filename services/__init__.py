"""The services of the platform; each runs as its own process (`python -m services.<name>`)."""

"""The fault suite (``make chaos``): the platform as processes under SIGKILL, a database
restart, a frozen provider and a black-holed registry, with a checked client history."""

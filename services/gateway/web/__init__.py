"""HTTP side of the gateway: the JSON API, pages, templates and static files."""

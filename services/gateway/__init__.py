"""The gateway: the residents' portal (マイナポータル), its HTTP API and pages, and the
``portal`` token domain's provider."""

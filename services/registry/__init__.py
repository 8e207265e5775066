"""The registry: number issuance, token vault, exchange hub, exchange log and card authority."""

"""The log witness: cosigns the exchange log's checkpoints after checking they only append."""

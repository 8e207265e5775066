"""The municipality: resident register (住民基本台帳), long-term care and disaster support."""

"""Feed adapters: one module per kind, all run by advisories.ingest."""

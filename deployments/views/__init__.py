"""Pages of deployments, one module per area."""

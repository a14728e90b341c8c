"""Forms of the patches app, one module per concern (approvals, sign-off, policies, ...)."""

"""(client: being built)."""

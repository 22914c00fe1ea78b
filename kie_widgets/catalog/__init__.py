"""(catalog: being built)."""

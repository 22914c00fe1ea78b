"""(assets: being built)."""

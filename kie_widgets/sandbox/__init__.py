"""(sandbox: being built)."""

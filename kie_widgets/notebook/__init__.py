"""(notebook: being built)."""

"""(widgets: being built)."""

"""The gwsync command line (typer + rich)."""

"""Adapters that read people directories."""

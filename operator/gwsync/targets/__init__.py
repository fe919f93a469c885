"""Adapters that write to provisioning targets."""

"""gwsync: provision Google Workspace people and teams into SCIM 2.0 targets, declaratively."""

__version__ = "0.1.0"

"""The API of gwsync: pydantic models of both kinds, the single source of the CRD schemas."""

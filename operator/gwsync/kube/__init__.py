"""Kubernetes persistence: SyncReports, their item store, the ledger, Secrets."""

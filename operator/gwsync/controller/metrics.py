"""Prometheus metrics served on /metrics by `gwsync run`."""

from prometheus_client import Counter, Gauge, Histogram

SYNC_DURATION = Histogram(
    "gwsync_sync_duration_seconds",
    "Wall time of one sync, by provisioning and phase.",
    ["namespace", "provisioning", "phase"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
SYNC_ITEMS = Counter(
    "gwsync_sync_items_total",
    "Items of completed syncs, by type, action and result.",
    ["namespace", "provisioning", "type", "action", "result"],
)
LAST_SUCCESS = Gauge(
    "gwsync_last_successful_sync_timestamp_seconds",
    "Unix time of the last sync that succeeded (fully or partially).",
    ["namespace", "provisioning"],
)
SYNCS = Counter(
    "gwsync_syncs_total",
    "Completed syncs, by trigger and phase.",
    ["namespace", "provisioning", "trigger", "phase"],
)
API_REQUESTS = Counter(
    "gwsync_api_requests_total",
    "Requests sent to Google (Directory API) or to SCIM targets, retries included.",
    ["side"],
)
API_ERRORS = Counter(
    "gwsync_api_errors_total",
    "Google Directory API requests that failed (each retry counts).",
    ["side"],
)
API_RETRIES = Counter(
    "gwsync_api_retries_total",
    "SCIM requests retried after 429/503 or a connection error.",
    ["side"],
)

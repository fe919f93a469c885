"""Names shared by the API, the operator and the CLI, kept in one place.

Every string a user may type or grep for (annotation keys, condition types, reasons,
labels) lives here so that docs, tests and code cannot drift apart.
"""

from typing import Final

GROUP: Final = "provisioning.gwsync.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

PROVISIONING_KIND: Final = "GoogleProvisioning"
PROVISIONING_PLURAL: Final = "googleprovisionings"
PROVISIONING_SINGULAR: Final = "googleprovisioning"
PROVISIONING_SHORT_NAMES: Final = ("gprov",)

REPORT_KIND: Final = "SyncReport"
REPORT_PLURAL: Final = "syncreports"
REPORT_SINGULAR: Final = "syncreport"
REPORT_SHORT_NAMES: Final = ("sreport",)

KINDS: Final = (PROVISIONING_KIND, REPORT_KIND)  # every kind of the group

CATEGORY: Final = "gwsync"

# Annotations a user sets on a GoogleProvisioning.
ANNOTATION_PREFIX: Final = "gwsync.io"
SYNC_REQUESTED_AT: Final = "gwsync.io/sync-requested-at"
APPROVE_DEPROVISIONING: Final = "gwsync.io/approve-deprovisioning"

# Labels the operator puts on what it creates.
PROVISIONING_LABEL: Final = "gwsync.io/provisioning"
REPORT_LABEL: Final = "gwsync.io/report"
PART_LABEL: Final = "gwsync.io/part"

# The label a Secret must carry before the operator uses any of its values: whoever may create
# a GoogleProvisioning must not be able to point the operator at any Secret of the namespace.
CREDENTIALS_LABEL: Final = "gwsync.io/credentials"
CREDENTIALS_LABEL_VALUE: Final = "true"

# The `gwsync run` flag without which endpoint overrides (google.apiEndpoint, a key's
# token_uri, plain-http loopback targets, a custom CA bundle) are refused.
KEYLESS_ACCOUNT_REFUSED: Final = "KeylessAccountRefused"
ALLOW_ENDPOINT_OVERRIDES_FLAG: Final = "--allow-endpoint-overrides"
KEYLESS_ACCOUNT_FLAG: Final = "--keyless-account"

# Condition types.
READY: Final = "Ready"
CONNECTED: Final = "Connected"
TARGET_REACHABLE: Final = "TargetReachable"
ACTIVE: Final = "Active"
CONFIGURATION_PENDING: Final = "ConfigurationPending"
LEDGER_VERIFIED: Final = "LedgerVerified"
CONDITION_TYPES: Final = (READY, CONNECTED, TARGET_REACHABLE, ACTIVE, CONFIGURATION_PENDING, LEDGER_VERIFIED)

# Condition reasons.
AWAITING_FIRST_SYNC: Final = "AwaitingFirstSync"
ANOTHER_PROVISIONING_ACTIVE: Final = "AnotherProvisioningActive"
PERMISSION_DENIED: Final = "PermissionDenied"
SECRET_NOT_LABELLED: Final = "SecretNotLabelled"
ENDPOINT_OVERRIDE_REFUSED: Final = "EndpointOverrideRefused"
# The ledger (issue 23): LedgerVerified's reasons, and the Warning Event of a ledger ignored.
LEDGER_UNSIGNED: Final = "LedgerUnsigned"
LEDGER_SIGNATURE_MISMATCH: Final = "LedgerSignatureMismatch"
LEDGER_KEY_UNAVAILABLE: Final = "LedgerKeyUnavailable"
LEDGER_ROLLED_BACK: Final = "LedgerRolledBack"
LEDGER_MISSING: Final = "LedgerMissing"
LEDGER_REJECTED: Final = "LedgerRejected"

DEFAULT_GOOGLE_ENDPOINT: Final = "https://admin.googleapis.com/"
DEFAULT_GOOGLE_TOKEN_URI: Final = "https://oauth2.googleapis.com/token"
DEFAULT_CUSTOMER_ID: Final = "my_customer"

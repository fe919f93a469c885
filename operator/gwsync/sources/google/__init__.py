"""Google Workspace, read through the Admin SDK Directory API with read-only scopes.

The only package importing googleapiclient, google-auth and httplib2 (an import-linter
contract). Its modules, each importing only the ones listed after it:

- `reader`: GoogleDirectory, the read and its strategy (the users listing, or users.get for
  the members of chosen groups) and the factory from spec.google;
- `paging`: page chains, followed by page token, a thread asking ahead;
- `groups`: group members as memberships, nesting and notes (the walk is
  `gwsync.directory.reachable`), and the tally that starts the users listing early;
- `calls`: one API call, its retries and Google's failures explained;
- `auth`: the service-account key, keyless delegation, the token refresh, Google's refusals;
- `http`: the bounded httplib2 transport and the quick JSON model;
- `parse`: Google's answers, read as untrusted, as people, members and groups.

Every public name is importable from here.
"""

from gwsync.sources.google.auth import (
    DEFAULT_IAM_ENDPOINT,
    DEFAULT_TOKEN_URI,
    SCOPES,
    GoogleAuthError,
    KeylessDelegation,
    static_token_credentials,
)
from gwsync.sources.google.calls import (
    DEFAULT_ENDPOINT,
    RATE_LIMIT_REASONS,
    TRANSIENT_STATUSES,
    DirectoryApi,
    RequestCounts,
)
from gwsync.sources.google.http import MAX_ANSWER_BYTES, AnswerTooLarge, BoundedHttp, QuickJson
from gwsync.sources.google.paging import AHEAD_PAGES
from gwsync.sources.google.parse import (
    GROUP_FIELDS,
    MEMBER_FIELDS,
    NO_EXTRA,
    QUOTE_LIMIT,
    SHARED_VALUES,
    USER_FIELDS,
    Common,
    GroupInfo,
    Malformed,
    Member,
    customer_of,
    groups_page,
    mapped_user_fields,
    members_page,
    plain_person,
    source_value,
    to_person,
    users_page,
)
from gwsync.sources.google.reader import (
    FETCH_ROUNDS,
    MEMBERS_PAGE,
    USERS_PAGE,
    GoogleDirectory,
    directory_for,
)

__all__ = [
    "AHEAD_PAGES",
    "DEFAULT_ENDPOINT",
    "DEFAULT_IAM_ENDPOINT",
    "DEFAULT_TOKEN_URI",
    "FETCH_ROUNDS",
    "GROUP_FIELDS",
    "MAX_ANSWER_BYTES",
    "MEMBERS_PAGE",
    "MEMBER_FIELDS",
    "NO_EXTRA",
    "QUOTE_LIMIT",
    "RATE_LIMIT_REASONS",
    "SCOPES",
    "SHARED_VALUES",
    "TRANSIENT_STATUSES",
    "USERS_PAGE",
    "USER_FIELDS",
    "AnswerTooLarge",
    "BoundedHttp",
    "Common",
    "DirectoryApi",
    "GoogleAuthError",
    "GoogleDirectory",
    "GroupInfo",
    "KeylessDelegation",
    "Malformed",
    "Member",
    "QuickJson",
    "RequestCounts",
    "customer_of",
    "directory_for",
    "groups_page",
    "mapped_user_fields",
    "members_page",
    "plain_person",
    "source_value",
    "static_token_credentials",
    "to_person",
    "users_page",
]

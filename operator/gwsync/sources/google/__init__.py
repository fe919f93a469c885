"""Google Workspace, read through the Admin SDK Directory API (see `reader`)."""

from gwsync.sources.google.reader import *  # noqa: F403  # the names callers import from here

"""One fresh server of the matrix per test, with unmanaged objects seeded and checked after.

A server that cannot be installed or started here (`launchers.node.Unavailable`) skips its
tests with the reason; in CI (CI=true) it fails them with the reason instead. Under
pytest-xdist (`make test`, --dist loadgroup) the Canaille tests are one group, so that one
worker starts Canaille (seconds). Note: with pytest 9.2 and pytest-xdist 3.8 no group is kept
together (xdist tags groups by setting item._nodeid, which pytest 9 no longer reads), so each
worker may start its own.
"""

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from .backend import Backend
from .launchers.node import Unavailable
from .servers import CANAILLE, SERVERS

ONE_CANAILLE = pytest.mark.xdist_group("canaille")


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(
    params=[pytest.param(s, marks=[ONE_CANAILLE] if s == CANAILLE else []) for s in sorted(SERVERS)]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with ExitStack() as stack:
        try:
            served = stack.enter_context(SERVERS[request.param]())
        except Unavailable as exc:
            unavailable(f"{request.param}: {exc}")
        yield served

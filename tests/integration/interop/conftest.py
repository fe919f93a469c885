"""One fresh server of the matrix per test, with unmanaged objects seeded and checked after.

A server that cannot be installed or started here (`launchers.node.Unavailable`) skips its
tests with the reason; in CI (CI=true) it fails them with the reason instead. Under
pytest-xdist (`make test`) each worker that gets Canaille tests starts its own Canaille, and
each that gets scim-sdk-server tests its own JVM (both wiped between tests).
"""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from .backend import Backend
from .launchers.node import Unavailable
from .servers import SERVERS, unavailable


@pytest.fixture(params=sorted(SERVERS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with ExitStack() as stack:
        try:
            served = stack.enter_context(SERVERS[request.param]())
        except Unavailable as exc:
            unavailable(f"{request.param}: {exc}")
        yield served

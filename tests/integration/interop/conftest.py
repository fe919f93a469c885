"""One fresh server of the matrix per test, with unmanaged objects seeded and checked after."""

from collections.abc import Iterator

import pytest

from .backend import Backend
from .servers import SERVERS


@pytest.fixture(params=sorted(SERVERS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with SERVERS[request.param]() as served:
        yield served

"""A read answer's body is let go as soon as it is read, not when the garbage collector runs.

httpx's response stream refers back to its response: a reference cycle, which only the
cyclic collector frees. A daily sync of 100,000 users lists 200 pages of about half a
megabyte; while syncs run the collector seldom looks at older objects (sync.interpreter), so
those bodies stayed until the sync ended: 65-70 MB of its peak (issue 12). The SCIM adapter
breaks the cycle once the body is read.
"""

import gc

import httpx

from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import run_light_scim


def live_responses() -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, httpx.Response))


async def test_a_listing_leaves_no_answer_for_the_collector() -> None:
    with run_light_scim(page_size=10) as scim:
        for n in range(45):
            scim.seed_user({"userName": f"user{n}@acme.com", "externalId": str(n)})
        gc.collect()
        gc.disable()  # only reference counting frees anything from here
        try:
            before = live_responses()
            async with ScimTarget(scim.url, scim.token) as target:
                users = await target.list_users()
            left = live_responses() - before
        finally:
            gc.enable()
    assert len(users) == 45
    assert left == 0  # the 5 list pages, the configuration reads: all freed already

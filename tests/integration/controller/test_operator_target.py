"""The target refusing the token in the middle of a sync (a revoked or rotated token)."""

from gwsync.testing.scim import Fault as ScimFault

from .conftest import World, eventually


async def test_a_token_refused_during_apply_fails_the_report_with_its_items(world: World) -> None:
    # The reads pass, then every write is refused: 401 as after a token revocation.
    world.scim.set_faults([ScimFault(status=401, method="POST", times=None, detail="Invalid token")])
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)
    status = report["status"]
    assert status["phase"] == "Failed"
    assert status["message"].startswith("The SCIM token was refused (401)"), status["message"]
    assert status["itemCount"] == 3 and status["items"]  # what was attempted is reported
    reachable = await eventually(lambda: world.condition_is("TargetReachable", "False"))
    assert reachable["reason"] == "TargetUnreachable"
    assert reachable["message"] == (
        "The SCIM token was refused (401); check the Secret named in "
        "spec.target.scim.tokenSecretRef holds a valid bearer token."
    )
    assert world.status()["failedAttempts"] == 1

"""The secret scan run after every real-server test sees each channel it claims to cover.

Every test of this folder ends with `assert_no_leaks` over the operator's log, status,
reports and their items, Events, ConfigMaps, /metrics and the CLI's output (conftest.py).
Here secrets are planted in those channels on the real server to prove the scan would fail.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from gwsync.kube.client import CONFIG_MAPS
from gwsync.testing.leaks import find_leaks

from .conftest import CLI_OUTPUTS, SCIM_TOKEN, Cluster, eventually, gwsync, kubectl


def test_a_secret_planted_in_any_channel_is_found(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()
    secrets = cluster.secrets()
    assert {"Secret scim key token", "Google assertion 1", "Google access token 1"} <= set(secrets)
    assert any("private key line" in name for name in secrets)
    # A real sync's outputs are clean, metrics included.
    outputs = cluster.cluster_outputs()
    assert any(name.startswith("metrics of operator") and "gwsync_" in text for name, text in outputs)
    assert find_leaks(secrets, outputs) == []

    access_token = secrets["Google access token 1"]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "planted", "namespace": cluster.namespace},
        "involvedObject": {"kind": "GoogleProvisioning", "name": "acme", "namespace": cluster.namespace},
        "reason": "Planted",
        "message": "dump " + base64.b64encode(f"Authorization: Bearer {access_token}".encode()).decode(),
        "type": "Normal",
    }
    kubectl(cluster.admin, "create", "-f", "-", stdin=json.dumps(event))
    config_map = {"metadata": {"name": "planted"}, "data": {"url": f"https://x/?t={quote(SCIM_TOKEN)}"}}
    cluster.kube.create(CONFIG_MAPS, cluster.namespace, config_map)
    gwsync("status", "acme", "-n", cluster.namespace, "--kubeconfig", str(cluster.admin))
    key_line = "Secret google key key.json, private key line 3"
    CLI_OUTPUTS.append(("gwsync planted", f"error near {secrets[key_line]}"))

    def found() -> set[tuple[str, str]] | None:
        leaks = {(leak.secret, leak.channel) for leak in find_leaks(secrets, cluster.cluster_outputs())}
        return leaks if len(leaks) >= 2 else None

    assert eventually(found, what="the planted secrets") == {
        ("Google access token 1", "Events"),
        ("Secret scim key token", "ConfigMap planted"),
    }
    [cli] = find_leaks(secrets, CLI_OUTPUTS)
    assert (cli.secret, cli.channel) == (key_line, "gwsync planted")

    # Clean up, so that this test's own scan at teardown passes.
    kubectl(cluster.admin, "delete", "event", "planted", "-n", cluster.namespace)
    kubectl(cluster.admin, "delete", "configmap", "planted", "-n", cluster.namespace)
    CLI_OUTPUTS.pop()

"""Connecting to the API server, and its refusals as gwsync errors with the server's message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gwsync.kube.client import (
    CONFIG_MAPS,
    REPORTS,
    Kube,
    KubeApiError,
    KubeConfigError,
    KubeNotFound,
    connect,
)
from gwsync.testing.kube import KubeEmulator


def test_a_kubeconfig_reaches_the_server(
    emulator: KubeEmulator, acme: dict[str, Any], tmp_path: Path
) -> None:
    kube = connect(kubeconfig=emulator.write_kubeconfig(tmp_path / "config"))
    try:
        assert kube.server == str(emulator.url).rstrip("/")
        assert kube.list(REPORTS, "default") == []
    finally:
        kube.close()


def test_a_missing_kubeconfig_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as error:
        connect(kubeconfig=tmp_path / "nope")
    assert str(error.value) == (
        f"kubeconfig {tmp_path / 'nope'} does not exist: "
        "pass --kubeconfig, set KUBECONFIG, or run in a cluster"
    )


def test_a_missing_object_is_not_found_with_the_server_message(kube: Kube) -> None:
    with pytest.raises(KubeNotFound) as error:
        kube.get(CONFIG_MAPS, "default", "ghost")
    assert str(error.value) == 'reading ConfigMap default/ghost failed: 404 configmaps "ghost" not found'
    assert (error.value.status, error.value.reason) == (404, "NotFound")


def test_deleting_a_missing_object_is_not_an_error_unless_asked(kube: Kube) -> None:
    assert kube.delete(CONFIG_MAPS, "default", "ghost") is False
    with pytest.raises(KubeNotFound):
        kube.delete(CONFIG_MAPS, "default", "ghost", missing_ok=False)


def test_an_unreachable_server_is_an_api_error_naming_it() -> None:
    kube = connect("http://127.0.0.1:9")
    with pytest.raises(KubeApiError) as error:
        kube.get(CONFIG_MAPS, "default", "x")
    assert error.value.status == 0
    assert str(error.value).startswith(
        "reading ConfigMap default/x failed: the Kubernetes API is unreachable"
    )

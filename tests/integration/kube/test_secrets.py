"""Secret keys: read for real, and every mistake explained without the value."""

from __future__ import annotations

import base64

import pytest

from gwsync.api.common import SecretKeyRef
from gwsync.kube.client import Kube
from gwsync.kube.secrets import (
    SecretKeyMissing,
    SecretNotFound,
    SecretNotLabelled,
    SecretUnavailable,
    read_secret_value,
)
from gwsync.testing.kube import SECRETS, KubeEmulator

CREDENTIALS = SecretKeyRef(name="acme-google", key="credentials.json")
KEY = b'{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEv..."}'


def secret(name: str, data: dict[str, bytes], *, labelled: bool = True) -> dict[str, object]:
    encoded = {key: base64.b64encode(value).decode() for key, value in data.items()}
    labels = {"gwsync.io/credentials": "true"} if labelled else {"app": "billing"}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "acme", "labels": labels},
        "data": encoded,
    }


def read(kube: Kube) -> bytes:
    return read_secret_value(kube, "acme", CREDENTIALS, "the service-account key")


def test_the_value_of_the_key_is_returned(kube: Kube, emulator: KubeEmulator) -> None:
    emulator.seed(SECRETS, secret("acme-google", {"credentials.json": KEY, "other": b"x"}))
    assert read(kube) == KEY


def test_a_missing_secret_says_how_to_create_it(kube: Kube) -> None:
    with pytest.raises(SecretNotFound) as error:
        read(kube)
    assert str(error.value) == (
        "Secret acme/acme-google not found: create it with the service-account key under key credentials.json"
    )
    assert error.value.reason == "SecretNotFound"


def test_a_missing_key_names_it_without_showing_other_values(kube: Kube, emulator: KubeEmulator) -> None:
    emulator.seed(SECRETS, secret("acme-google", {"key.json": KEY}))
    with pytest.raises(SecretKeyMissing) as error:
        read(kube)
    assert str(error.value) == "Secret acme/acme-google has no key credentials.json"
    assert "PRIVATE" not in repr(error.value)


def test_an_empty_key_is_refused(kube: Kube, emulator: KubeEmulator) -> None:
    emulator.seed(SECRETS, secret("acme-google", {"credentials.json": b"\n"}))
    with pytest.raises(SecretUnavailable) as error:
        read(kube)
    assert str(error.value) == (
        "Secret acme/acme-google key credentials.json is empty: put the service-account key there"
    )


def test_a_secret_without_the_label_is_refused_before_its_data_is_looked_at(
    kube: Kube, emulator: KubeEmulator
) -> None:
    emulator.seed(SECRETS, secret("acme-google", {"other.json": KEY}, labelled=False))
    with pytest.raises(SecretNotLabelled) as error:
        read(kube)
    # The same sentence whether or not the key exists: an unlabelled Secret tells nothing.
    assert str(error.value) == (
        "Secret acme/acme-google is not labelled gwsync.io/credentials=true, so gwsync does not use it; "
        "if it holds the service-account key for this GoogleProvisioning, run: "
        "kubectl label secret acme-google -n acme gwsync.io/credentials=true"
    )
    assert error.value.reason == "SecretNotLabelled"


@pytest.mark.parametrize("value", ["false", "True", "yes", ""])
def test_only_the_exact_label_value_true_opts_in(kube: Kube, emulator: KubeEmulator, value: str) -> None:
    body = secret("acme-google", {"credentials.json": KEY})
    body["metadata"]["labels"] = {"gwsync.io/credentials": value}  # type: ignore[index]
    emulator.seed(SECRETS, body)
    with pytest.raises(SecretNotLabelled):
        read(kube)

"""Plain sample objects shared by the API tests."""

from typing import Any

SPEC: dict[str, Any] = {
    "google": {
        "adminEmail": "admin@acme.com",
        "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
    },
    "target": {
        "scim": {
            "url": "https://acme.example.com/scim/v2",
            "tokenSecretRef": {"name": "acme-scim", "key": "token"},
        }
    },
    "members": {"from": "Groups", "groups": ["eng@acme.com"]},
    "teams": {
        "enabled": True,
        "mappings": [{"team": "Engineering", "groups": ["eng@acme.com", "eng-contractors@acme.com"]}],
    },
}


def provisioning(spec: dict[str, Any] | None = None, name: str = "acme") -> dict[str, Any]:
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": name, "namespace": "default"},
        "spec": SPEC if spec is None else spec,
    }

"""The provisioning label: a GoogleProvisioning's name, or for a long one a name plus a hash."""

import re

from gwsync.kube import labels

LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LONG = "acme-google-workspace-to-the-engineering-scim-directory-production-eu1"  # 70 characters


def test_a_name_that_fits_is_its_own_label() -> None:
    assert labels.provisioning_labels("acme") == {"gwsync.io/provisioning": "acme"}
    assert labels.label_value("a" * 63) == "a" * 63


def test_a_long_name_becomes_a_valid_label_value_that_still_reads_like_it() -> None:
    value = labels.label_value(LONG)
    assert len(LONG) == 70
    assert LABEL_VALUE.match(value) and len(value) == 63
    assert value.startswith(LONG[:40])
    assert value != labels.label_value(LONG[:-1] + "x")  # names sharing 62 characters differ


def test_a_cut_before_a_dash_leaves_no_dash_at_the_end_of_the_name_part() -> None:
    name = "a" * 51 + "-" + "b" * 20
    value = labels.label_value(name)
    assert LABEL_VALUE.match(value) and "--" not in value


def test_objects_belong_by_their_annotation_else_by_their_label() -> None:
    long_cm = {
        "metadata": {
            "labels": labels.provisioning_labels(LONG),
            "annotations": {labels.PROVISIONING_NAME_ANNOTATION: LONG},
        }
    }
    older = {"metadata": {"labels": {"gwsync.io/provisioning": "acme"}}}
    assert labels.belongs_to(long_cm, LONG) and not labels.belongs_to(long_cm, LONG[:-1] + "x")
    assert labels.belongs_to(older, "acme") and not labels.belongs_to(older, "other")

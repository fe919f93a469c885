"""The item store of a SyncReport: every item of a sync as gzip JSON lines in ConfigMaps.

The status of a report holds at most 200 notable items (an object must stay small enough
for kubectl and watches); the full list - unchanged items too, so a report can say what did
*not* change - goes here, chunked by ``blobs`` and owned by the report. Writing and reading
both stream: neither side holds all items (or the whole decompressed text) at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from gwsync.api.report import ReportItem
from gwsync.kube import blobs
from gwsync.kube.client import Kube

ITEMS_SUFFIX = "-items-"


def item_lines(items: Iterable[ReportItem]) -> Iterator[bytes]:
    """One JSON object per line, camelCase as in the status, UTF-8 (accents kept as they are)."""
    for item in items:
        yield item.to_json().encode() + b"\n"


def parse_lines(texts: Iterable[bytes]) -> Iterator[ReportItem]:
    """Items from decompressed text that may split lines anywhere (chunk boundaries)."""
    carry = b""
    for text in texts:
        lines = (carry + text).split(b"\n")
        carry = lines.pop()
        for line in lines:
            if line:
                yield ReportItem.model_validate_json(line)
    if carry.strip():
        yield ReportItem.model_validate_json(carry)


@dataclass
class WrittenItems:
    """Where the items went, and how many there were."""

    config_maps: list[str] = field(default_factory=list)
    count: int = 0


def chunk_name(report_name: str, index: int) -> str:
    return blobs.fit_name(report_name, f"{ITEMS_SUFFIX}{index}")


def write_items(
    kube: Kube,
    namespace: str,
    report_name: str,
    items: Iterable[ReportItem],
    *,
    owner: blobs.Owner,
    labels: Mapping[str, str],
) -> WrittenItems:
    """Store items as ConfigMaps ``<report>-items-<n>`` owned by ``owner`` (the report)."""
    written = WrittenItems()

    def counted(source: Iterable[ReportItem]) -> Iterator[ReportItem]:
        for item in source:
            written.count += 1
            yield item

    for index, chunk in enumerate(blobs.gzip_chunks(item_lines(counted(items)))):
        name = chunk_name(report_name, index)
        body = blobs.chunk_body(
            namespace,
            name,
            chunk,
            owner=owner,
            labels=blobs.part_labels(labels, index),
            annotations={blobs.BLOB_ANNOTATION: f"{report_name}{ITEMS_SUFFIX.rstrip('-')}"},
        )
        blobs.put_chunk(kube, body)
        written.config_maps.append(name)
    return written


def iter_items(kube: Kube, namespace: str, config_maps: Sequence[str]) -> Iterator[ReportItem]:
    """Every stored item, in the order written, reading one ConfigMap at a time."""
    if not config_maps:
        return iter(())
    return parse_lines(blobs.gunzip_chunks(blobs.read_chunks(kube, namespace, config_maps)))

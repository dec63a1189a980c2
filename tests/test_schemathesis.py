"""Schemathesis against `/openapi.json` of a real node: no input it generates from the
schema gets a 5xx (or a traceback) from any operation, with every role's token.

Two member nodes run as processes (so the node publishes: its own feed is confirmed
by its peer); each operation gets a bounded number of generated cases, derandomised,
so the run is the same every time and takes well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from noticenet.node.demo.cluster import Cluster
from noticenet.node.demo.localnet import MemberRow

MEMBERS: tuple[MemberRow, ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("CCF", "ccf", "Commission for the Control of Files", ()),
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster.create(Path(tmp_path_factory.mktemp("schema")), MEMBERS, b"schemathesis")
    try:
        cluster.start(timeout=90)
        yield cluster
    finally:
        cluster.stop()


def test_no_generated_request_gets_a_server_error(node: Cluster) -> None:
    url = node["FRA"].url
    headers = {"Authorization": f"Bearer {node['FRA'].tokens['admin']}"}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # every route is described
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=url, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500 or b"Traceback" in response.content:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        run()
    assert failures == []
    assert sum(statuses.values()) >= 4 * len(operations)  # cases were really sent
    assert sum(n for status, n in statuses.items() if status < 300) > 0  # and some valid

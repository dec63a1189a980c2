"""`make demo` end to end: seven node processes, driven over HTTP, stopped cleanly."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from noticenet.node.demo.cluster import Cluster, ClusterError
from noticenet.node.demo.network import run_network_demo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")


def test_network_demo(tmp_path: Path) -> None:
    out = io.StringIO()
    seen: dict[str, int] = {}

    def while_kept() -> None:
        """`--keep`: the network is still up after the tour; its sign-in pages answer."""
        for member, node in facts_so_far().items():
            seen[member] = httpx.get(f"{node['url']}ui/signin", timeout=10).status_code

    def facts_so_far() -> dict[str, Any]:
        text = out.getvalue()
        return {m: {"url": u} for m, u in re.findall(r"(FRA|CCF) +(http://[\d.:]+/) ", text)}

    facts = run_network_demo(
        tmp_path / "demo-data", Console(file=out, width=200), keep=True, wait=while_kept
    )
    assert seen == {"FRA": 200, "CCF": 200}
    assert set(facts["sign_in"]) == {"FRA", "CCF"}
    for node in facts["sign_in"].values():
        assert set(node["tokens"]) == {"border", "officer", "issuer", "admin"}
        assert all(token in out.getvalue() for token in node["tokens"].values())
    assert facts["border_hit"] is True
    assert facts["border_ms"] > 0  # measured and printed; its speed is bench/api.py's to judge
    assert facts["bad_mrz_status"] == 422
    assert facts["bra_diffusion_status"] == 404 and facts["deu_reads_diffusion"] is True
    assert facts["search_variant_hit"] is True
    assert facts["revoked_everywhere"] is True
    assert facts["purge_receipts"] == 7 and facts["purge_outstanding"] == []
    assert facts["reentry_status"] == 409
    assert facts["similar_status"] == 202 and facts["held_everywhere"] is True
    assert facts["released_everywhere"] is True
    assert set(facts["exit_codes"].values()) == {0}
    text = out.getvalue()
    assert "HIT" in text and "ReentryBlocked" in text and "7 of 7 nodes" in text
    assert "Armed robbery" not in text  # the tour never prints the notice's charges
    assert (tmp_path / "demo-data" / "ceremony" / "revoke.entry").exists()
    assert (tmp_path / "demo-data" / "release" / "release.entry").exists()


def test_demo_never_removes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("irreplaceable")
    with pytest.raises(ClusterError, match="not removing it"):
        Cluster.create(tmp_path)
    assert (tmp_path / "thesis.tex").exists()

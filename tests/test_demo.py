"""`make demo` runs end to end and shows what it claims."""

from __future__ import annotations

import io

from rich.console import Console

from noticenet.simulations.tour import run_demo


def test_demo_outcome() -> None:
    out = io.StringIO()
    facts = run_demo(Console(file=out, width=120))
    assert facts["hit"] is True
    assert "not a recipient" in str(facts["bra_sees"])
    assert facts["gone"] is True
    assert facts["receipts"] == 7
    assert facts["reentry_refused"] is True
    assert facts["similar_held"] is True and facts["released"] is True
    text = out.getvalue()
    assert "HIT" in text and "refused" in text
    assert "DKG" in text and "no dealer" in text
    assert "Armed robbery" not in text  # no record plaintext beyond what the tour reads out

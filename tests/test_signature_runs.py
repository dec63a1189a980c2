"""One signature check per chained run: the checks' results never depend on it.

`validation.check_signatures` verifies only the last entry of each run of an
author's chained entries in a batch; the hash chain carries the author's
signature back over the rest. These tests count the verifies, and check that
batch and one-by-one ingest agree on every outcome and on the store, for
altered, dropped, repeated, reordered and forked entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.crypto.errors import BadSignature, NoticenetError
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.ledger import validation
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import Draft, seal_entry
from noticenet.protocol.store.kvstore import MemoryStore

from .conftest import NOW
from .samples import document, vehicle

Make = Callable[..., tuple[Ledger, Publisher]]


@pytest.fixture(scope="module")
def feeds(devnet: DevNet) -> dict[str, list[Entry]]:
    """Five entries each of FRA and DEU (key epoch first), published once."""
    out = {}
    for member in ("FRA", "DEU"):
        ledger = Ledger.of_member(
            MemoryStore(), devnet.governance.public_key, member, devnet.member(member).keys
        )
        ledger.ingest(devnet.genesis, NOW)
        pub = Publisher(ledger, member, devnet.member(member).keys)
        for i in range(4):
            pub.publish("vehicle", vehicle(f"VF1RJA00{i}12345678"), NOW + i)
        out[member] = list(ledger.feed(member))
    return out


def count_verifies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = validation.verify

    def counting(*args: Any) -> None:
        calls[0] += 1
        real(*args)

    monkeypatch.setattr(validation, "verify", counting)
    return calls


def altered(entry: Entry) -> Entry:
    """`entry` with one bit of its signature flipped (so another id)."""
    sig = bytearray(entry.signature)
    sig[7] ^= 1
    return Entry(entry.header, bytes(sig), entry.body)


def test_a_run_costs_one_verify(
    devnet: DevNet, feeds: dict[str, list[Entry]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_verifies(monkeypatch)
    fra, deu = feeds["FRA"], feeds["DEU"]
    mixed = [e for pair in zip(fra, deu, strict=True) for e in pair]  # two interleaved runs
    assert validation.check_signatures(mixed, devnet.roster) == [None] * len(mixed)
    assert calls[0] == 2


def test_an_altered_entry_is_never_vouched_for(
    devnet: DevNet, feeds: dict[str, list[Entry]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_verifies(monkeypatch)
    run = list(feeds["FRA"])
    run[2] = altered(run[2])  # its successor's prev no longer names it: two runs, and it
    errors = validation.check_signatures(run, devnet.roster)
    assert [type(e) for e in errors] == [type(None)] * 2 + [BadSignature] + [type(None)] * 2
    assert calls[0] == 3  # the last, the altered one, and the end of the run before it


def test_a_forged_last_entry_is_refused_and_the_run_before_it_checked(
    devnet: DevNet, feeds: dict[str, list[Entry]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_verifies(monkeypatch)
    run = list(feeds["FRA"])
    run[-1] = altered(run[-1])
    errors = validation.check_signatures(run, devnet.roster)
    assert errors[:-1] == [None] * (len(run) - 1)
    assert isinstance(errors[-1], BadSignature)
    assert calls[0] == 2


def test_junk_costs_one_verify_per_entry_as_before(
    devnet: DevNet, feeds: dict[str, list[Entry]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_verifies(monkeypatch)
    run = [altered(e) for e in feeds["FRA"]]
    errors = validation.check_signatures(run, devnet.roster)
    assert all(isinstance(e, BadSignature) for e in errors)
    assert calls[0] == len(run)


def test_an_entry_its_author_signed_over_is_taken_on_the_chain(
    make_ledger: Make, devnet: DevNet
) -> None:
    """Only the author can make one: the batch takes it, alone it is refused, the audit tells."""
    fra, pub = make_ledger("FRA")
    pub.publish("sltd", document(), NOW)
    head_seq, head_id = fra.head("FRA") or (0, b"")
    sign = devnet.member("FRA").keys.sign
    draft = Draft("FRA", head_seq + 1, head_id, NOW + 1, "cancel", Cancellation(target=b"\0" * 32))
    sealed = seal_entry(draft, None, sign)
    unsigned = Entry(sealed.header, b"\0" * 64, sealed.body)
    over = seal_entry(
        Draft("FRA", head_seq + 2, unsigned.id, NOW + 2, "cancel", Cancellation(b"\1" * 32)),
        None,
        sign,
    )
    alone, _ = make_ledger("DEU")
    batch, _ = make_ledger("DEU")
    for ledger in (alone, batch):
        for entry in fra.feed("FRA"):
            ledger.ingest(entry, NOW)
    with pytest.raises(BadSignature):
        alone.ingest(unsigned, NOW)
    results = batch.ingest_many([unsigned, over], NOW)
    assert [r.outcome for r in results if not isinstance(r, Exception)] == [Outcome.STORED] * 2
    problems = verify_ledger(batch)
    assert [(p.seq, p.what) for p in problems] == [(head_seq + 1, "signature does not verify")]


# -- batch and one-by-one ingest agree -------------------------------------------

OPS = st.lists(
    st.tuples(st.sampled_from(["alter", "drop", "repeat", "swap", "fork"]), st.integers(0, 11)),
    max_size=4,
)


def mangle(entries: list[Entry], ops: list[tuple[str, int]], fork: Entry) -> list[Entry]:
    out = list(entries)
    for op, at in ops:
        i = at % len(out)
        if op == "alter":
            out[i] = altered(out[i])
        elif op == "drop":
            del out[i]
        elif op == "repeat":
            out.insert(i, out[i])
        elif op == "swap":
            j = (i + 1) % len(out)
            out[i], out[j] = out[j], out[i]
        else:
            out.insert(i, fork)
        if not out:
            out = [fork]
    return out


def outcome(result: Any) -> Any:
    return type(result).__name__ if isinstance(result, NoticenetError) else result.outcome


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(ops=OPS)
def test_batch_and_one_by_one_ingest_agree(
    devnet: DevNet, feeds: dict[str, list[Entry]], ops: list[tuple[str, int]]
) -> None:
    fra, deu = feeds["FRA"], feeds["DEU"]
    batch = [e for pair in zip(fra, deu, strict=True) for e in pair]
    h = fra[3].header
    fork = seal_entry(
        Draft("FRA", h.seq, h.prev, NOW + 9, "cancel", Cancellation(target=b"\0" * 32)),
        None,
        devnet.member("FRA").keys.sign,
    )
    batch = mangle(batch, ops, fork)
    ledgers = []
    for _ in range(2):
        ledger = Ledger.of_member(
            MemoryStore(), devnet.governance.public_key, "USA", devnet.member("USA").keys
        )
        ledger.ingest(devnet.genesis, NOW)
        ledgers.append(ledger)
    together = [outcome(r) for r in ledgers[0].ingest_many(batch, NOW)]
    single = []
    for entry in batch:
        try:
            single.append(outcome(ledgers[1].ingest(entry, NOW)))
        except NoticenetError as exc:
            single.append(type(exc).__name__)
    assert together == single
    assert list(ledgers[0].store.iterate()) == list(ledgers[1].store.iterate())

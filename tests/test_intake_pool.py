"""The intake pool: real worker processes give the answers `check_wires` gives here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from noticenet.crypto.errors import BadSignature
from noticenet.node.intake_pool import PARENT_CHECK_S, IntakePool
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.ledger.intake import Intake, check_wires
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import Draft, seal_entry
from noticenet.protocol.store.kvstore import MemoryStore

from .conftest import NOW
from .samples import document, records


@pytest.fixture(scope="module")
def pool() -> Iterator[IntakePool]:
    with IntakePool(2) as pool:
        yield pool


def _ledger(devnet: DevNet, member: str) -> Ledger:
    ledger = Ledger.of_member(
        MemoryStore(), devnet.governance.public_key, member, devnet.member(member).keys
    )
    ledger.ingest(devnet.genesis, NOW)
    return ledger


def _wires(devnet: DevNet) -> list[bytes]:
    fra = _ledger(devnet, "FRA")
    pub = Publisher(fra, "FRA", devnet.member("FRA").keys)
    for i in range(40):
        pub.publish("sltd", document(f"P{i:07d}", "FRA"), NOW)
    for kind, record in records().items():
        pub.publish(kind, record, NOW)
    wires = [e.to_wire() for e in fra.feed("FRA")]
    forged = Entry(fra.entry_at("FRA", 3).header, bytes(64), None)  # type: ignore[union-attr]
    return [*wires, forged.to_wire(), b"\x00junk"]


def _shape(checked: list[object]) -> list[tuple[object, ...]]:
    return [
        (c.entry.id, c.opened, type(c.error)) if isinstance(c, Intake) else (type(c), str(c))
        for c in checked
    ]


def test_workers_answer_as_the_node_would(pool: IntakePool, devnet: DevNet) -> None:
    wires = _wires(devnet)
    deu = _ledger(devnet, "DEU")
    deu.ingest_many([decode_entry(w) for w in wires[:-2]], NOW)  # knows every epoch key now
    snap = deu.snapshot(NOW)
    futures = pool.submit(wires, snap)
    assert len(futures) == 2  # split between the workers
    assert _shape(pool.gather(futures)) == _shape(check_wires(wires, snap))


async def test_checking_from_trio_leaves_the_loop_free(pool: IntakePool, devnet: DevNet) -> None:
    wires = _wires(devnet)
    deu = _ledger(devnet, "DEU")
    checked = await pool.gather_async(pool.submit(wires, deu.snapshot(NOW)))
    results = deu.ingest_many([c for c in checked if isinstance(c, Intake)], NOW)
    stored = [r for r in results if not isinstance(r, Exception)]
    assert len(stored) == len(wires) - 2  # all but the forged entry and the junk
    assert deu.find_document("FRA", "P0000039") != []


CHILD = """
from noticenet.node.intake_pool import IntakePool
import sys
if __name__ == "__main__":
    pool = IntakePool(2)
    pool.warm()
    print("ready", flush=True)
    sys.stdin.read()  # until killed
"""


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux /proc")
def test_workers_exit_when_their_node_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the node no chance to shut its pool down: the workers notice
    their parent is gone and exit by themselves instead of waiting for ever."""
    script = tmp_path / "node.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        workers = _children(child.pid)
        assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
        child.kill()
        child.wait(10)
        deadline = time.monotonic() + 15 * PARENT_CHECK_S
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)  # polling another process, bounded by the deadline
        assert not any(_alive(p) for p in workers)
    finally:
        child.kill()
        for pid in workers if "workers" in locals() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _chain_with_unsigned(devnet: DevNet, count: int, unsigned: int) -> list[bytes]:
    """FRA's feed of `count` cancellations; the one at index `unsigned` has a zero
    signature, and its successor signs over it (only an author can make this)."""
    sign = devnet.member("FRA").keys.sign
    wires, prev = [], None
    for i in range(count):
        draft = Draft("FRA", i + 1, prev, NOW + i, "cancel", Cancellation(bytes([i + 1]) * 32))
        entry = seal_entry(draft, None, sign)
        if i == unsigned:
            entry = Entry(entry.header, bytes(64), entry.body)
        wires.append(entry.to_wire())
        prev = entry.id
    return wires


def test_a_slice_boundary_refuses_nothing_the_whole_frame_accepts(
    pool: IntakePool, devnet: DevNet
) -> None:
    """Each worker also sees the entry after its slice, which may vouch for the last."""
    wires = _chain_with_unsigned(devnet, 64, 31)  # the first slice ends on it
    snap = _ledger(devnet, "DEU").snapshot(NOW)
    whole = check_wires(wires, snap)
    assert all(isinstance(c, Intake) and c.error is None for c in whole)
    futures = pool.submit(wires, snap)
    assert len(futures) == 2
    assert _shape(pool.gather(futures)) == _shape(whole)
    alone = check_wires(wires[:32], snap)  # no voucher: refused, as a lone entry is
    assert isinstance(alone[-1], Intake) and isinstance(alone[-1].error, BadSignature)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux /proc")
def test_a_pool_that_lost_a_worker_fails_its_batch_and_is_replaced(devnet: DevNet) -> None:
    """The batch in flight raises BrokenProcessPool (the node then checks it in
    process); the next submit starts a new pool, which answers as before."""
    wires = _wires(devnet)
    deu = _ledger(devnet, "DEU")
    deu.ingest_many([decode_entry(w) for w in wires[:-2]], NOW)  # knows every epoch key now
    snap = deu.snapshot(NOW)
    with IntakePool(2) as pool:
        pool.warm()
        futures = pool.submit(wires * 20, snap)  # long enough to be under way at the kill
        for pid in _children(os.getpid()):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            pool.gather(futures)
        again = pool.submit(wires, snap)
        assert pool.restarts == 1
        assert _shape(pool.gather(again)) == _shape(check_wires(wires, snap))


def test_a_snapshot_is_pickled_once_for_all_the_frames_it_serves(devnet: DevNet) -> None:
    """Workers get each snapshot once (by digest), not with every frame: with 195
    members unpickling one took 1.6 ms a slice. A frame checked under a snapshot
    sent earlier still gets its own time, and a new epoch key makes a new one."""
    wires = _wires(devnet)
    deu = _ledger(devnet, "DEU")
    with IntakePool(2) as fresh:
        first = fresh.check(wires, deu.snapshot(NOW))
        later = fresh.check(wires, deu.snapshot(NOW + 1))
        assert fresh.snapshots_sent == 1
        assert {c.now_ms for c in later if isinstance(c, Intake)} == {NOW + 1}
        assert _shape(first) == _shape(later)
        deu.ingest_many([c for c in first if isinstance(c, Intake)], NOW)  # learns FRA's epoch
        again = fresh.check(wires, deu.snapshot(NOW + 2))
        assert fresh.snapshots_sent == 2
        assert _shape(again) == _shape(check_wires(wires, deu.snapshot(NOW + 2)))

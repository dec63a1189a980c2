"""Worker processes that check incoming entries ahead of the ledger's write, and
open stored ones behind it.

Verifying, decrypting, parsing and indexing an entry needs no ledger state
beyond a `Snapshot` (protocol/ledger/intake.py), so it can run on every core. The
ledger's own process keeps only the chain checks and the write. The same
workers run the open stage (`open_wires`) for entries relayed unopened. Workers are
spawned, not forked: the node's trio loop and libp2p threads must not be
copied into a child.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import trio

from noticenet.crypto.errors import NoticenetError
from noticenet.protocol.ledger.intake import Intake, Opened, Snapshot, check_wires, open_wires

Checked = list[Intake | NoticenetError]
Read = list[Opened | None]
T = TypeVar("T")

MIN_SHARE = 32  # fewer entries than this per worker are not worth a round trip


PARENT_CHECK_S = 1.0


def watch_parent(parent: int) -> None:
    """Worker initializer: exit once the process that spawned us is gone.

    A node killed with SIGKILL never shuts its pool down, and an idle worker
    would otherwise wait on its queue for ever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class _Sent:
    """A snapshot as workers get it: pickled once, without its time, with a digest
    they remember it by. With 195 members a snapshot is ~42 KB, and unpickling it
    took 1.6 ms a slice, more than the slice's checks for small frames."""

    snap: Snapshot  # as pickled (now_ms 0)
    digest: bytes
    blob: bytes


def _timeless(snap: Snapshot) -> Snapshot:
    return dataclasses.replace(snap, now_ms=0)


def _sent(timeless: Snapshot) -> _Sent:
    blob = pickle.dumps(timeless, protocol=pickle.HIGHEST_PROTOCOL)
    return _Sent(timeless, hashlib.blake2b(blob, digest_size=16).digest(), blob)


_UNPICKLED: collections.OrderedDict[bytes, Snapshot] = collections.OrderedDict()
KEPT_SNAPSHOTS = 4  # per worker: the current one, and a few a slow frame may still use


def _unpickled(digest: bytes, blob: bytes) -> Snapshot:
    """In a worker: each snapshot unpickled once, remembered by its digest."""
    snap = _UNPICKLED.get(digest)
    if snap is None:
        snap = _UNPICKLED[digest] = pickle.loads(blob)
        while len(_UNPICKLED) > KEPT_SNAPSHOTS:
            _UNPICKLED.popitem(last=False)
    return snap


def check_sent(
    wires: list[bytes], digest: bytes, blob: bytes, now_ms: int, voucher: bytes | None
) -> Checked:
    """What a worker runs: `check_wires` under the snapshot `blob` at `now_ms`."""
    snap = dataclasses.replace(_unpickled(digest, blob), now_ms=now_ms)
    return check_wires(wires, snap, voucher)


def open_sent(wires: list[bytes], digest: bytes, blob: bytes, now_ms: int) -> Read:
    """What a worker runs for the open stage: `open_wires` under the snapshot `blob`."""
    snap = dataclasses.replace(_unpickled(digest, blob), now_ms=now_ms)
    return open_wires(wires, snap)


def _after(wires: list[bytes], end: int) -> bytes | None:
    """The entry after a slice, which may vouch for the slice's last one."""
    return wires[end] if end < len(wires) else None


async def _done(future: Future[T]) -> None:
    """Wait until `future` is done; it is set in the pool's own thread."""
    token = trio.lowlevel.current_trio_token()
    finished = trio.Event()

    def wake(_: Future[T]) -> None:
        try:
            token.run_sync_soon(finished.set)
        except trio.RunFinishedError:  # the node stopped while the workers ran
            pass

    future.add_done_callback(wake)
    await finished.wait()


class IntakePool:
    """A process pool that runs `check_wires` over slices of a batch."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.restarts = 0
        self.snapshots_sent = 0  # distinct snapshots pickled for the workers
        self._last: dict[bool, _Sent] = {}  # by `open_bodies`: relay and open stages alternate
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=watch_parent,
            initargs=(os.getpid(),),
        )

    def warm(self) -> set[int]:
        """Start the workers now rather than on the first big frame; their process ids."""
        return {f.result() for f in [self._pool.submit(os.getpid) for _ in range(self.workers)]}

    def submit(self, wires: list[bytes], snap: Snapshot) -> list[Future[Checked]]:
        """Start checking `wires` in slices, one per worker; collect with `gather`.

        A pool that lost a worker (killed, out of memory) is broken for good:
        it is replaced here, so one dead worker costs the frames in flight
        (their `gather` raises `BrokenProcessPool`; check those in process).
        """
        try:
            return self._submit(wires, snap)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            self.restarts += 1
            return self._submit(wires, snap)

    def _submit(self, wires: list[bytes], snap: Snapshot) -> list[Future[Checked]]:
        share = max(MIN_SHARE, -(-len(wires) // self.workers))
        sent = self._send(snap)
        return [
            self._pool.submit(
                check_sent,
                wires[i : i + share],
                sent.digest,
                sent.blob,
                snap.now_ms,
                _after(wires, i + share),
            )
            for i in range(0, len(wires), share)
        ]

    def submit_open(self, wires: list[bytes], snap: Snapshot) -> list[Future[Read]]:
        """Start the open stage's reading of `wires` in slices, one per worker (a broken
        pool is replaced as in `submit`); collect with `gather_async`."""
        try:
            return self._submit_open(wires, snap)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            self.restarts += 1
            return self._submit_open(wires, snap)

    def _submit_open(self, wires: list[bytes], snap: Snapshot) -> list[Future[Read]]:
        share = max(MIN_SHARE, -(-len(wires) // self.workers))
        sent = self._send(snap)
        return [
            self._pool.submit(open_sent, wires[i : i + share], sent.digest, sent.blob, snap.now_ms)
            for i in range(0, len(wires), share)
        ]

    def _send(self, snap: Snapshot) -> _Sent:
        """The last snapshot sent, if `snap` differs from it only in time; else `snap`'s."""
        timeless = _timeless(snap)
        last = self._last.get(snap.open_bodies)
        if last is None or last.snap != timeless:
            last = self._last[snap.open_bodies] = _sent(timeless)
            self.snapshots_sent += 1
        return last

    @staticmethod
    def gather(futures: list[Future[list[T]]]) -> list[T]:
        """The checked (or read) entries of `submit`'s slices, in the order given."""
        out: list[T] = []
        for future in futures:
            out.extend(future.result())
        return out

    def check(self, wires: list[bytes], snap: Snapshot) -> Checked:
        """Check `wires` on the workers and wait (blocking)."""
        return self.gather(self.submit(wires, snap))

    async def gather_async(self, futures: list[Future[list[T]]]) -> list[T]:
        """`gather` without blocking the trio loop: each future wakes this task when
        done (no thread per frame: handing one over cost 4% of a node's catch-up)."""
        for future in futures:
            if not future.done():
                await _done(future)
        return self.gather(futures)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> IntakePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

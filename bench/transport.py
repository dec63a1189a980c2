"""Transport throughput: 400-byte entries sent one per frame vs batched into ~64 KB frames.

Two hosts in one process over 127.0.0.1 (Noise + yamux, one core for both
ends), one long-lived stream. The receiver unpacks batches, so both runs pay
for every entry end to end. Prints MB/s of entry bytes, entries/s, wire
frames/s and the batched/unbatched ratio, by wall time and by CPU time (the
CPU figures stay meaningful on a busy machine).

    .venv/bin/python bench/transport.py [--entries 100000] [--budget 20]

The unbatched run stops early if it exceeds --budget seconds (it reports what
it measured), so the whole benchmark stays under a minute.
"""

from __future__ import annotations

import argparse
import struct
import time
from dataclasses import dataclass

import trio

from noticenet.node.p2p.transport import FramedStream, Transport, peer_id_from_seed

SEED_SENDER, SEED_RECEIVER = b"\x51" * 32, b"\x52" * 32
ENTRY_LEN = struct.Struct(">H")


@dataclass
class Result:
    """One run's counts and wall time."""

    name: str
    entries: int
    entry_bytes: int
    wire_frames: int
    seconds: float
    cpu_seconds: float

    def line(self) -> str:
        mb_s = self.entry_bytes / self.seconds / 1e6
        return (
            f"run={self.name} entries={self.entries} wire_frames={self.wire_frames} "
            f"seconds={self.seconds:.2f} cpu_seconds={self.cpu_seconds:.2f} "
            f"MB_per_s={mb_s:.2f} entries_per_s={self.entries / self.seconds:,.0f} "
            f"wire_frames_per_s={self.wire_frames / self.seconds:,.0f} "
            f"MB_per_cpu_s={self.entry_bytes / self.cpu_seconds / 1e6:.2f}"
        )


def batches(entries: list[bytes], batch_bytes: int) -> list[bytes]:
    """Pack entries, each with a 2-byte length, into frames of at most batch_bytes."""
    out: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for entry in entries:
        item = ENTRY_LEN.pack(len(entry)) + entry
        if current and size + len(item) > batch_bytes:
            out.append(b"".join(current))
            current, size = [], 0
        current.append(item)
        size += len(item)
    if current:
        out.append(b"".join(current))
    return out


def unpack(frame: bytes) -> int:
    """Count (and slice out) the entries of a batch frame."""
    count, offset = 0, 0
    while offset < len(frame):
        (length,) = ENTRY_LEN.unpack_from(frame, offset)
        offset += ENTRY_LEN.size
        _entry = frame[offset : offset + length]
        offset += length
        count += 1
    return count


async def run_one(
    name: str, frames: list[bytes], batched: bool, entry_size: int, budget: float
) -> Result:
    """Send `frames` over a fresh stream; time until the receiver has them all."""
    counts = {"entries": 0, "frames": 0}
    finished = trio.Event()
    expected = len(frames)

    async def receive(peer: str, stream: FramedStream) -> None:
        async for frame in stream:
            counts["entries"] += unpack(frame) if batched else 1
            counts["frames"] += 1
            if counts["frames"] == expected:
                finished.set()

    receiver_id = peer_id_from_seed(SEED_RECEIVER)
    sender_id = peer_id_from_seed(SEED_SENDER)
    async with (
        Transport(SEED_RECEIVER, allowlist=[sender_id], on_stream=receive) as rx,
        Transport(SEED_SENDER, allowlist=[receiver_id]) as tx,
    ):
        await tx.connect(receiver_id, rx.listen_addrs[0])
        stream = await tx.open_stream(receiver_id)
        start, cpu_start = time.perf_counter(), time.process_time()
        with trio.move_on_after(budget):
            async with trio.open_nursery() as nursery:

                async def send_all() -> None:
                    for frame in frames:
                        await stream.send(frame)

                nursery.start_soon(send_all)
                await finished.wait()
                nursery.cancel_scope.cancel()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    partial = "" if counts["frames"] == expected else "_partial"
    entry_bytes = counts["entries"] * entry_size
    return Result(
        name + partial, counts["entries"], entry_bytes, counts["frames"], seconds, cpu_seconds
    )


async def main(args: argparse.Namespace) -> None:
    entries = [bytes([i % 251]) * args.entry_size for i in range(args.entries)]
    print(f"entries={args.entries} entry_size={args.entry_size} batch_bytes={args.batch_bytes}")
    packed = batches(entries, args.batch_bytes)
    batched = await run_one("batched", packed, True, args.entry_size, args.budget)
    print(batched.line(), flush=True)
    unbatched = await run_one("unbatched", entries, False, args.entry_size, args.budget)
    print(unbatched.line(), flush=True)
    ratio = (batched.entries / batched.seconds) / (unbatched.entries / unbatched.seconds)
    cpu_ratio = (batched.entries / batched.cpu_seconds) / (
        unbatched.entries / unbatched.cpu_seconds
    )
    print(f"ratio_batched_over_unbatched={ratio:.1f} (per cpu second: {cpu_ratio:.1f})")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--entry-size", type=int, default=400)
    parser.add_argument("--batch-bytes", type=int, default=64 * 1024)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per run, at most")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10k entries, 5 s")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.budget = 10_000, 5.0
    return args


if __name__ == "__main__":
    trio.run(main, parse_args())

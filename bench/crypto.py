"""Crypto benchmark: entries sealed (encrypt + sign) and validated per second.

Sealing is `seal_entry` of an SLTD record under a sender-key epoch, signed by
the member key as the Publisher does; validation is `validate_entry` (roles,
signature, times, body hash). Each is set against raw nacl Ed25519 sign and
verify (64-byte detached signatures over messages of the same size),
measured in the same run, before and after.

    python bench/crypto.py [ENTRIES] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import nacl.signing
from rich.console import Console
from rich.table import Table

from noticenet.crypto import sender_keys
from noticenet.crypto.hashing import blake2b256
from noticenet.protocol.devnet import make_devnet
from noticenet.protocol.index.guard_tags import tags_for
from noticenet.protocol.ledger.validation import validate_entry
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import TravelDocument
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry

NOW = 1_800_000_000_000
DAY = 86_400_000
console = Console()


def rate(work: Callable[[], int], seconds: float = 1.0) -> float:
    """Calls of `work` (each returning how many items it did) per second, over `seconds`."""
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        done += work()
    return done / (time.perf_counter() - began)


def raw_rates(messages: list[bytes]) -> tuple[float, float]:
    """Raw nacl (sign/s, verify/s) over `messages`."""
    signer = nacl.signing.SigningKey(blake2b256(b"bench-crypto"))
    verifier = signer.verify_key
    signed = [(m, signer.sign(m).signature) for m in messages]

    def sign() -> int:
        for m in messages:
            signer.sign(m)
        return len(messages)

    def verify() -> int:
        for m, sig in signed:
            verifier.verify(m, sig)
        return len(signed)

    return rate(sign), rate(verify)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("entries", nargs="?", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count = args.entries or (2_000 if args.quick else 20_000)

    devnet = make_devnet()
    fra = devnet.member("FRA")
    epoch_id = blake2b256(b"an epoch entry id")
    keying = EpochKeying(epoch_id, sender_keys.new_key())
    records = [
        TravelDocument(
            document_number=f"F{i:08d}",
            document_type="P",
            issuing_country="FRA",
            status="stolen",
            holder_name="ERIKSSON",
            holder_forename="ANNA MARIA",
            holder_date_of_birth="1974-08-12",
            holder_nationality="SWE",
        )
        for i in range(count)
    ]
    guards = [tags_for(r, devnet.guard_key) for r in records]
    drafts = [
        Draft("FRA", i + 2, epoch_id, NOW + i, "sltd", r, NOW + i + 3650 * DAY, g)
        for i, (r, g) in enumerate(zip(records, guards, strict=True))
    ]
    sign = fra.keys.sign  # as the Publisher signs

    sample = [seal_entry(d, keying, sign) for d in drafts[:200]]
    messages = [e.header.signing_bytes() for e in sample]
    sign_before, verify_before = raw_rates(messages)

    began = time.perf_counter()
    entries: list[Entry] = [seal_entry(d, keying, sign) for d in drafts]
    seal_rate = count / (time.perf_counter() - began)
    began = time.perf_counter()
    for entry in entries:
        validate_entry(entry, devnet.roster, NOW + count, devnet.governance.public_key)
    validate_rate = count / (time.perf_counter() - began)

    sign_after, verify_after = raw_rates(messages)
    raw_sign = (sign_before + sign_after) / 2
    raw_verify = (verify_before + verify_after) / 2
    body = sum(len(e.body or b"") for e in entries) / count
    header = sum(len(m) for m in messages) / len(messages)

    table = Table(title=f"crypto: {count:,} SLTD entries (~{body:.0f}-byte bodies)")
    table.add_column("measure")
    table.add_column("per second", justify="right")
    table.add_column("us each", justify="right")
    table.add_column("ratio to raw", justify="right")
    table.add_row(
        "raw Ed25519 sign (before/after avg)", f"{raw_sign:,.0f}", f"{1e6 / raw_sign:.0f}", ""
    )
    table.add_row(
        "raw Ed25519 verify (before/after avg)",
        f"{raw_verify:,.0f}",
        f"{1e6 / raw_verify:.0f}",
        "",
    )
    table.add_row(
        "seal_entry (encode, encrypt, sign)",
        f"{seal_rate:,.0f}",
        f"{1e6 / seal_rate:.0f}",
        f"{seal_rate / raw_sign:.2f} of sign",
    )
    table.add_row(
        "validate_entry (roles, signature, times, body)",
        f"{validate_rate:,.0f}",
        f"{1e6 / validate_rate:.0f}",
        f"{validate_rate / raw_verify:.2f} of verify",
    )
    console.print(table)
    console.print(
        f"signed message: ~{header:.0f} bytes; raw sign {sign_before:,.0f} -> {sign_after:,.0f}/s, "
        f"raw verify {verify_before:,.0f} -> {verify_after:,.0f}/s (before -> after)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

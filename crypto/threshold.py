"""A FROST group held in one process: both rounds run locally.

For tests, simulations, demos and a ceremony whose commissioners are all
present; the offline ceremony runs the same rounds through files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import frost
from .errors import ThresholdError


@dataclass(frozen=True)
class ThresholdGroup:
    """Key packages of (some of) a group's participants and its public package."""

    packages: dict[int, frost.KeyPackage]
    public: frost.PublicKeyPackage

    @property
    def public_key(self) -> bytes:
        return self.public.group_public_key

    @property
    def threshold(self) -> int:
        return self.public.threshold

    @property
    def size(self) -> int:
        return len(self.public.verifying_shares)

    @classmethod
    def dealt(cls, size: int, threshold: int) -> ThresholdGroup:
        """TEST TOOL ONLY: a group from FROST's trusted dealer, who knows the whole key.

        Real and local networks get their groups from the DKG
        (`noticenet ccf dkg`; `noticenet.protocol.devnet.commission_group`).
        """
        packages, public = frost.trusted_dealer_keygen(size, threshold)
        return cls(packages, public)

    def sign(self, message: bytes, signers: Sequence[int] | None = None) -> bytes:
        """Run both FROST rounds with `signers` (default: the first `threshold`)."""
        chosen = list(signers) if signers is not None else sorted(self.packages)[: self.threshold]
        missing = [i for i in chosen if i not in self.packages]
        if missing:
            raise ThresholdError(f"no key package for participants {missing}")
        rounds = {i: frost.commit(self.packages[i]) for i in chosen}
        commitments = [c for _, c in rounds.values()]
        shares = [frost.sign(self.packages[i], rounds[i][0], message, commitments) for i in chosen]
        return frost.aggregate(commitments, message, shares, self.public)

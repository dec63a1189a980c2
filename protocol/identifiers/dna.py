"""DNA STR profiles over named loci sets: validation, matching, encoding, index keys.

A biometric-reference record carries a DNA profile: for each short tandem
repeat (STR) locus, the two alleles a person inherited, written as repeat
numbers ("12") or microvariants ("9.3": nine full repeats and three bases).
Profiles are typed against a named loci set so members using different kits
can still compare them on the loci they share:

- "CODIS20": the 20 US core loci required by the FBI's NDIS since 2017;
- "ESS": the 12-locus European Standard Set (all twelve are also CODIS loci).

Amelogenin ("AMEL", alleles "X"/"Y") may be present in either set. It is a
sex marker, so it never counts towards a match and is not indexed; a
disagreement is only reported.

The module is pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from noticenet.protocol.errors import SchemaError

CODIS20: tuple[str, ...] = (
    "CSF1PO", "FGA", "TH01", "TPOX", "VWA",
    "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317",
    "D16S539", "D18S51", "D21S11", "D1S1656", "D2S441",
    "D2S1338", "D10S1248", "D12S391", "D19S433", "D22S1045",
)  # fmt: skip
"""US CODIS core loci: the original 13 plus the 7 added on 1 January 2017."""

ESS: tuple[str, ...] = (
    "D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01",
    "FGA", "D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045",
)  # fmt: skip
"""European Standard Set: 7 original ENFSI loci plus the 5 added in 2009."""

AMELOGENIN = "AMEL"
"""The optional sex-marker locus, allowed in every set."""

LOCI_SETS: Mapping[str, tuple[str, ...]] = MappingProxyType({"CODIS20": CODIS20, "ESS": ESS})
"""Named loci sets, each in its canonical order (used for encoding and keys)."""

SET_FIELD = "set"
"""Key of the loci-set name in `DNAProfile.to_dict()`; lower case, so never a locus."""

Verdict = Literal["match", "partial", "no_match", "insufficient"]

_ALLELE = re.compile(r"[1-9][0-9]?(\.[1-3])?")
"""A repeat number 1..99, optionally a microvariant with 1-3 extra bases."""

_AMEL_ALLELES = ("X", "Y")


def _allele_order(allele: str) -> tuple[int, int]:
    """Sort key putting "9" < "9.3" < "10" (numeric, not string, order)."""
    whole, _, part = allele.partition(".")
    return int(whole), int(part or 0)


def _loci_of(loci_set: str) -> tuple[str, ...]:
    """The loci of a named set; SchemaError for an unknown name."""
    loci = LOCI_SETS.get(loci_set) if isinstance(loci_set, str) else None
    if loci is None:
        known = ", ".join(sorted(LOCI_SETS))
        raise SchemaError(f"unknown loci set {loci_set!r}; known sets: {known}")
    return loci


def _normalise_pair(locus: str, pair: object) -> tuple[str, str]:
    """Validate one locus' alleles and return them as an ordered pair.

    One allele means a homozygote and becomes (x, x); three or more are
    refused (tri-allelic patterns are out of scope).
    """
    if not isinstance(pair, tuple | list) or not 1 <= len(pair) <= 2:
        raise SchemaError(f"{locus}: give one or two alleles as a tuple, got {pair!r}")
    for allele in pair:
        if locus == AMELOGENIN:
            if allele not in _AMEL_ALLELES:
                raise SchemaError(f"{locus}: allele {allele!r} is not 'X' or 'Y'")
        elif not isinstance(allele, str) or not _ALLELE.fullmatch(allele):
            raise SchemaError(
                f"{locus}: allele {allele!r} is not a repeat number like '12' or "
                f"a microvariant like '9.3'"
            )
    first, second = (pair[0], pair[0]) if len(pair) == 1 else (pair[0], pair[1])
    if locus == AMELOGENIN:
        return (first, second) if first <= second else (second, first)
    low, high = sorted((first, second), key=_allele_order)
    return low, high


@dataclass(frozen=True)
class DNAProfile:
    """A validated STR profile: loci of one named set -> ordered allele pairs.

    The constructor checks every locus and allele, writes homozygotes as
    (x, x), orders each pair numerically and stores loci in the set's
    canonical order behind a read-only mapping, so equal profiles compare
    and encode equal.
    """

    loci_set: str
    alleles: Mapping[str, tuple[str, str]]

    def __post_init__(self) -> None:
        loci = _loci_of(self.loci_set)
        if not isinstance(self.alleles, Mapping) or not self.alleles:
            raise SchemaError("a DNA profile needs at least one typed locus")
        allowed = (*loci, AMELOGENIN)
        unknown = sorted(str(locus) for locus in self.alleles if locus not in allowed)
        if unknown:
            raise SchemaError(f"loci {unknown} are not in the {self.loci_set} set")
        ordered = {
            locus: _normalise_pair(locus, self.alleles[locus])
            for locus in allowed
            if locus in self.alleles
        }
        object.__setattr__(self, "alleles", MappingProxyType(ordered))

    def __hash__(self) -> int:
        return hash((self.loci_set, tuple(self.alleles.items())))

    @property
    def str_loci(self) -> tuple[str, ...]:
        """Typed loci that count for matching (all but Amelogenin)."""
        return tuple(locus for locus in self.alleles if locus != AMELOGENIN)

    def to_dict(self) -> dict[str, str]:
        """Canonical storage form: {"set": name, locus: "low/high", ...}."""
        encoded = {SET_FIELD: self.loci_set}
        for locus, (low, high) in self.alleles.items():
            encoded[locus] = f"{low}/{high}"
        return encoded

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> DNAProfile:
        """Parse `to_dict()` output strictly: only the canonical form is accepted."""
        if not isinstance(data, Mapping) or not isinstance(data.get(SET_FIELD), str):
            raise SchemaError(f"a DNA profile dict needs a string {SET_FIELD!r} field")
        alleles: dict[str, tuple[str, str]] = {}
        for locus, text in data.items():
            if locus == SET_FIELD:
                continue
            if not isinstance(text, str) or text.count("/") != 1:
                raise SchemaError(f"{locus}: expected 'allele/allele', got {text!r}")
            low, high = text.split("/")
            alleles[locus] = (low, high)
        profile = cls(data[SET_FIELD], alleles)
        if profile.to_dict() != dict(data):
            raise SchemaError("DNA profile dict is not in canonical form (pair or locus order)")
        return profile


@dataclass(frozen=True)
class DNAMatch:
    """How two profiles compare, locus by locus, and the resulting verdict.

    `compared` are the STR loci typed in both profiles; a locus is in
    `matching` when both allele pairs are equal, else in `mismatching`.
    `shared_allele` lists the mismatching loci that still share one allele
    (what allele drop-out or a close relative produces).
    """

    compared: tuple[str, ...]
    matching: tuple[str, ...]
    mismatching: tuple[str, ...]
    shared_allele: tuple[str, ...]
    amelogenin_mismatch: bool
    verdict: Verdict


def match(
    a: DNAProfile, b: DNAProfile, min_loci: int = 8, partial_fraction: float = 0.8
) -> DNAMatch:
    """Compare two profiles over the STR loci both have typed.

    Verdicts, checked in this order:
    - "insufficient": fewer than `min_loci` loci can be compared;
    - "match": every compared locus matches;
    - "partial": at least `partial_fraction` of the compared loci match
      (a lead worth a confirmatory test, not an identification);
    - "no_match": otherwise.
    Profiles of different sets compare on the loci the sets share.
    """
    if min_loci < 1 or not 0.0 < partial_fraction <= 1.0:
        raise ValueError("min_loci must be >= 1 and partial_fraction in (0, 1]")
    compared = tuple(locus for locus in a.str_loci if locus in b.alleles)
    matching = tuple(locus for locus in compared if a.alleles[locus] == b.alleles[locus])
    mismatching = tuple(locus for locus in compared if locus not in matching)
    shared = tuple(locus for locus in mismatching if set(a.alleles[locus]) & set(b.alleles[locus]))
    amel_a, amel_b = a.alleles.get(AMELOGENIN), b.alleles.get(AMELOGENIN)
    return DNAMatch(
        compared=compared,
        matching=matching,
        mismatching=mismatching,
        shared_allele=shared,
        amelogenin_mismatch=amel_a is not None and amel_b is not None and amel_a != amel_b,
        verdict=_verdict(len(compared), len(matching), min_loci, partial_fraction),
    )


def _verdict(compared: int, matching: int, min_loci: int, partial_fraction: float) -> Verdict:
    """The verdict for `matching` equal loci out of `compared`; see `match`."""
    if compared < min_loci:
        return "insufficient"
    if matching == compared:
        return "match"
    if matching >= partial_fraction * compared:
        return "partial"
    return "no_match"


def profile_index_keys(profile: DNAProfile) -> list[str]:
    """Per-locus index keys such as "D3S1358=15/16", in canonical locus order.

    A store indexes a profile under each key; candidates for `match` are the
    profiles sharing keys with a query, so profiles typed with different
    sets still meet on their common loci. Amelogenin is not indexed: it
    splits a database in two and identifies no one.
    """
    return [
        f"{locus}={low}/{high}"
        for locus, (low, high) in profile.alleles.items()
        if locus != AMELOGENIN
    ]

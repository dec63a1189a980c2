"""Real-time lookups over the indexes: border checks, person search, DNA matching.

Every answer leaves out entries the CCF has blocked or revoked, whatever the
index holds; entries whose body is gone have no index keys left (they leave
with the body), so they never show up either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noticenet.protocol.identifiers.mrz import parse_mrz
from noticenet.protocol.identifiers.normalise import (
    name_key,
    normalise_date,
    normalise_document_number,
    normalise_make,
    normalise_serial,
    normalise_vin,
    person_key,
)
from noticenet.protocol.identifiers.person_keys import person_keys
from noticenet.protocol.index.guard_tags import PERSON_DOMAIN
from noticenet.protocol.index.indexes import lookup
from noticenet.protocol.store.keyspace import key
from noticenet.protocol.store.kvstore import KVStore

if TYPE_CHECKING:
    from noticenet.protocol.identifiers.dna import DNAMatch
    from noticenet.protocol.records.records import DNARecord


class Lookups:
    """Index lookups, mixed into the Ledger (which provides the members declared here)."""

    store: KVStore
    index_key: bytes

    def hidden(self, eid: bytes) -> bool:
        raise NotImplementedError

    def read(self, eid: bytes) -> Any:
        raise NotImplementedError

    def _visible(self, ids: list[bytes]) -> list[bytes]:
        """The ids among index hits that the CCF does not hide.

        Index keys leave in the same batch as their body (`tombstone_body`
        removes them), so a hit's body is held; a CCF block hides a record
        whose body stays, so that is checked per hit.
        """
        return [i for i in ids if not self.hidden(i)]

    def _find(self, index: str, *parts: str) -> list[bytes]:
        return self._visible(lookup(self.store, self.index_key, index, parts))

    def find_document(self, issuing_country: str, number: str) -> list[bytes]:
        """SLTD entries for a travel document (issuing country + number)."""
        return self._find("document", issuing_country.upper(), normalise_document_number(number))

    def find_mrz(self, lines: list[str]) -> list[bytes]:
        """SLTD entries for the document in a machine-readable zone (checked first)."""
        mrz = parse_mrz(lines)
        return self.find_document(mrz.issuing_state, mrz.document_number)

    def find_vin(self, vin: str) -> list[bytes]:
        return self._find("vin", normalise_vin(vin))

    def find_firearm(self, make: str, serial: str) -> list[bytes]:
        return self._find("firearm", normalise_make(make), normalise_serial(serial))

    def find_person(self, name: str, forename: str = "", date_of_birth: str = "") -> list[bytes]:
        """Persons by name (+ date of birth), tolerant to case, accents and transliteration."""
        if date_of_birth:  # any of the guard keys (record-format 5.2), as a re-entry would
            born = normalise_date(date_of_birth)
            keys = person_keys(forename, name)
            return sorted({e for k in keys for e in self._find(PERSON_DOMAIN, k, born)})
        if forename:
            return self._find("name", person_key(forename, name))
        tokens = name_key(name).split()
        if not tokens:
            return []
        found = [set(self._find("name", t)) for t in tokens]
        common = set.intersection(*found)
        return sorted(common)

    def dna_match(self, probe: DNARecord, min_loci: int = 8) -> list[tuple[bytes, DNAMatch]]:
        """Stored DNA profiles sharing loci with `probe`, best first, with match reports."""
        from noticenet.protocol.identifiers.dna import match, profile_index_keys

        profile: Any = probe.profile()
        candidates: dict[bytes, int] = {}
        for term in profile_index_keys(profile):
            for eid in self._find("dna", term):
                candidates[eid] = candidates.get(eid, 0) + 1
        reports = []
        for eid in sorted(candidates, key=lambda e: (-candidates[e], e)):
            record = self.read(eid)
            report = match(profile, record.profile(), min_loci=min_loci)
            if report.matching:
                reports.append((eid, report))
        return reports

    def recent(self, kind: str, limit: int = 50) -> list[bytes]:
        """The latest readable entries of `kind`, newest first."""
        prefix = key(b"k", kind.encode()) + b"/"
        out: list[bytes] = []
        for k, _ in self.store.iterate(prefix, reverse=True):
            eid = k[-32:]
            if self._visible([eid]):
                out.append(eid)
                if len(out) >= limit:
                    break
        return out

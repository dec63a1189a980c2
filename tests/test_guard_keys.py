"""Person guard keys, derivation 2: spellings of one person share a key, different
people born the same day do not (record-format section 5.2; bench/guards.py measures)."""

from __future__ import annotations

import pytest

from noticenet.protocol.identifiers.person_keys import PERSON_DERIVATION, person_keys
from noticenet.protocol.index.guard_tags import PERSON_DOMAIN, same_tags_for
from noticenet.protocol.records.entry import MAX_GUARDS
from noticenet.protocol.records.records import Notice, Person, TravelDocument

KEY = bytes(range(32))


def _meet(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return bool(set(person_keys(*a)) & set(person_keys(*b)))


@pytest.mark.parametrize(
    "revoked, variant",
    [
        (("Александр", "Кузнецов"), ("Alexander", "Kusnezow")),
        (("Александр", "Кузнецов"), ("Aleksandr", "Kuznecov")),
        (("Александр", "Кузнецов"), ("Aleksandr", "Kuznetcov")),
        (("Юрий", "Щербаков"), ("Iouri", "Chtcherbakov")),
        (("Юрий", "Щербаков"), ("Juri", "Schtscherbakow")),
        (("Юрий", "Щербаков"), ("Jurij", "Ščerbakov")),
        (("Михаил", "Смирнов"), ("Mixail", "Smirnov")),
        (("Вячеслав", "Попов"), ("Vjačeslav", "Popov")),
        (("Abdulrahman", "Hassan"), ("Abd al-Rahman", "Hassan")),
        (("Abdulrahman", "Hassan"), ("Abdel Rahman", "Hassan")),
        (("Abdulrahman", "Hassan"), ("Abdurrahman", "Hassan")),
        (("Mohammed", "Al-Hassan"), ("Muhammad", "Alhassan")),
        (("Anna", "Eriksson"), ("Anna Maria", "Eriksson")),
        (("Jürgen", "Müller"), ("Jürgen", "Mül-ler")),
        (("Jürgen", "Müller"), ("Müller", "Jürgen")),
        (("Ludwig", "van Beethoven"), ("Ludwig", "Beethoven")),
    ],
)
def test_spellings_of_one_person_meet(revoked: tuple[str, str], variant: tuple[str, str]) -> None:
    assert _meet(revoked, variant)


@pytest.mark.parametrize(
    "a, b",
    [
        (("Ivan", "Petrov"), ("Ivana", "Petrova")),
        (("Maria", "Rossi"), ("Mario", "Rossi")),
        (("Ali", "Hassan"), ("Ali", "Hussein")),
        (("Jürgen", "Miller"), ("Jürgen", "Müller")),
    ],
)
def test_different_people_do_not_meet(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert not _meet(a, b)


def test_keys_are_deterministic_sorted_and_fit_a_header() -> None:
    keys = person_keys("Mohammed Ali", "Al-Hassan bin Laden")
    assert keys == tuple(sorted(set(keys))) == person_keys("Mohammed Ali", "Al-Hassan bin Laden")
    assert 1 <= len(keys) <= MAX_GUARDS - 1


def test_tags_carry_the_derivation_in_their_domain() -> None:
    assert PERSON_DOMAIN == f"person/{PERSON_DERIVATION}" == "person/2"
    notice = Notice(subject=Person("Kuznetsov", "Aleksandr", "1979-03-14"))
    assert len(same_tags_for(notice, KEY)) == len(person_keys("Aleksandr", "Kuznetsov"))


def test_an_sltd_holder_meets_the_persons_guards() -> None:
    person = set(same_tags_for(Notice(subject=Person("Kuznetsov", "Aleksandr", "1979-03-14")), KEY))
    doc = TravelDocument("123456789", "P", "RUS", "stolen", holder_name="KUSNEZOW",
                         holder_forename="Alexander", holder_date_of_birth="1979-03-14")
    assert person & set(same_tags_for(doc, KEY))
    other = TravelDocument("123456789", "P", "RUS", "stolen")
    assert not person & set(same_tags_for(other, KEY))

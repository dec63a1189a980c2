"""Plausible records for the workload, and spelling variants of a person for re-entry.

Records follow the protocol's schemas (red notice data model, ICAO 9303
travel documents, ISO 3779 VINs with a valid check digit). Values come from
a seeded generator; names come from small pools of names with well-known
variant spellings so that the re-entry adversary has realistic variants.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from noticenet.protocol.identifiers.vin import vin_check_digit
from noticenet.protocol.records.records import (
    ArrestWarrant,
    Diffusion,
    Firearm,
    Notice,
    Person,
    TravelDocument,
    Vehicle,
)

# (canonical spelling, variants a clerk elsewhere might type)
FORENAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Mohammed", ("Muhammad", "Mohamed", "MOHAMMAD")),
    ("Aleksandr", ("Alexander", "Aleksander", "ALEXANDR")),
    ("Yuriy", ("Iurii", "Jurij", "Yuri")),
    ("Elena", ("Yelena", "Jelena", "ELENA")),
    ("Josef", ("Joseph", "Iosif", "JOSEF")),
    ("Anna Maria", ("Anna-Maria", "Ana Maria", "ANNA MARIA")),
    ("Mehmet", ("Mehmed", "MEHMET", "Mehmett")),
    ("Sergei", ("Sergey", "Serguei", "Sergej")),
    ("Ahmed", ("Ahmad", "Akhmed", "AHMED")),
    ("Olga", ("OLGA", "Olgaa", "Olgha")),
)
SURNAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Müller", ("Mueller", "Muller", "MÜLLER")),
    ("Eriksson", ("Erikson", "Ericsson", "ERIKSSON")),
    ("Ivanov", ("Ivanoff", "Iwanow", "IVANOV")),
    ("Schmidt", ("Schmid", "Shmidt", "SCHMIDT")),
    ("Abdullah", ("Abdulla", "Abdalla", "ABDULLAH")),
    ("Kowalski", ("Kovalski", "Kowalsky", "KOWALSKI")),
    ("Nguyen", ("Nguyenn", "NGUYEN", "Nguyễn")),
    ("Hernández", ("Hernandez", "Hernanndez", "HERNANDEZ")),
    ("Popescu", ("Popesku", "POPESCU", "Popescou")),
    ("Haddad", ("Hadad", "Haddaad", "HADDAD")),
)
CHARGES = ("Fraud", "Murder", "Drug trafficking", "Money laundering", "Armed robbery", "Terrorism")
MAKES = ("Glock", "Beretta", "Smith & Wesson", "SIG Sauer", "Heckler & Koch", "Kalashnikov")
CAR_MAKES = ("Toyota", "Volkswagen", "Mercedes-Benz", "BMW", "Hyundai", "Ford")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
DOC_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def person(rng: random.Random, nationality: str) -> Person:
    forename = rng.choice(FORENAMES)[0]
    name = rng.choice(SURNAMES)[0]
    dob = f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return Person(
        name=name,
        forename=forename,
        date_of_birth=dob,
        nationalities=(nationality,),
        sex=rng.choice(("M", "F")),
    )


def notice(rng: random.Random, author: str, colour: str) -> Notice:
    warrants = (ArrestWarrant(rng.choice(CHARGES), author),) if colour == "red" else ()
    return Notice(subject=person(rng, author), arrest_warrants=warrants, summary=colour)


def diffusion(rng: random.Random, author: str, recipients: tuple[str, ...]) -> Diffusion:
    return Diffusion(
        purpose="locate",
        recipients=recipients,
        subject=person(rng, author),
        arrest_warrants=(ArrestWarrant(rng.choice(CHARGES), author),),
    )


def document(rng: random.Random, country: str) -> TravelDocument:
    number = "".join(rng.choice(DOC_CHARS) for _ in range(9))
    return TravelDocument(number, "P", country, "stolen")


def vehicle(rng: random.Random, country: str) -> Vehicle:
    chars = [rng.choice(VIN_CHARS) for _ in range(17)]
    chars[0] = rng.choice("JKLSTVWXYZ")  # outside North America: no mandatory check digit
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return Vehicle(vin="".join(chars), make=rng.choice(CAR_MAKES), registration_country=country)


def firearm(rng: random.Random) -> Firearm:
    serial = "".join(rng.choice(DOC_CHARS) for _ in range(8))
    return Firearm(make=rng.choice(MAKES), serial=serial)


def record(rng: random.Random, kind: str, author: str, country: str) -> Any:
    """A record of `kind` by `author` (a member whose country is `country`)."""
    if kind.startswith("notice."):
        return notice(rng, country, kind.split(".", 1)[1])
    if kind == "sltd":
        return document(rng, country)
    if kind == "vehicle":
        return vehicle(rng, country)
    if kind == "firearm":
        return firearm(rng)
    raise ValueError(f"the workload cannot make {kind!r} records")


# Another language's form of a forename: the similar tier (record-format 5.4) holds these
# for the CCF, where the same tier (5.2) does not reach.
SIMILAR_FORENAMES: dict[str, tuple[str, ...]] = {
    "Mohammed": ("Mehmet",),
    "Aleksandr": ("Oleksandr", "Alessandro"),
    "Elena": ("Helena", "Olena"),
    "Josef": ("Yusuf", "Giuseppe"),
    "Mehmet": ("Mahmut",),
    "Sergei": ("Serhiy", "Sergio"),
    "Ahmed": ("Hamed",),
    "Olga": ("Olha", "Helga"),
}


def variants(subject: Person, rng: random.Random, count: int) -> list[Person]:
    """`count` re-spellings of `subject`: variant names, sometimes with the fields swapped,
    and every fourth a *similar* one (record-format 5.4): a typo (the surname's last two
    letters swapped, as in Nguyne), another language's form of the forename (Yusuf for
    Josef), or the birth year alone. The first kinds are refused, the last held.
    """
    fore = dict(FORENAMES).get(subject.forename, (subject.forename.upper(),))
    sur = dict(SURNAMES).get(subject.name, (subject.name.upper(),))
    out = []
    for i in range(count):
        if i % 4 == 3:
            out.append(_similar(subject, rng))
            continue
        forename, name = rng.choice(fore), rng.choice(sur)
        if i % 3 == 1:
            forename, name = name, forename
        out.append(replace(subject, forename=forename, name=name))
    return out


def _similar(subject: Person, rng: random.Random) -> Person:
    how = rng.choice(("typo", "language", "year"))
    forms = SIMILAR_FORENAMES.get(subject.forename, ())
    if how == "language" and forms:
        return replace(subject, forename=rng.choice(forms))
    if how == "year" and subject.date_of_birth:
        return replace(subject, date_of_birth=subject.date_of_birth[:4])
    name = subject.name
    return replace(subject, name=name[:-2] + name[-1] + name[-2] if len(name) > 2 else name)

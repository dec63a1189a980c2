"""Normalised identifiers: names in any script, keys that catch variants, other identifiers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest
from anyascii import anyascii
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.identifiers import normalise
from noticenet.protocol.identifiers.mrz import parse_mrz
from noticenet.protocol.identifiers.normalise import (
    MAKE_ALIASES,
    ORGANISATION_CODES,
    name_key,
    normalise_country,
    normalise_date,
    normalise_document_number,
    normalise_make,
    normalise_name,
    normalise_serial,
    normalise_vin,
    person_key,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  ANNA   Maria ", "anna maria"),
        ("Anna-Maria", "anna maria"),
        ("Anna_Maria, Jr.", "anna maria jr"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("D'ARTAGNAN", "dartagnan"),
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Mu\u0308ller", "muller"),  # decomposed umlaut
        ("Sørensen", "sorensen"),
        ("Straße", "strasse"),
        ("Ærøskøbing", "aeroskobing"),
        ("José Ñúñez", "jose nunez"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("İstanbul", "istanbul"),
        ("Þór Guðmundsson", "thor gudmundsson"),
        ("Ｍａｒｉａ", "maria"),  # full-width
        ("ﬁnn", "finn"),  # ligature
        ("", ""),
        ("  -- '' ", ""),
    ],
)
def test_normalise_name_latin(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        # Cyrillic: ICAO Doc 9303 transliteration, as in the passport's MRZ.
        ("Дмитрий", "dmitrii"),
        ("Юрий Гагарин", "iurii gagarin"),
        ("Наталья", "natalia"),
        ("Хрущёв", "khrushchev"),
        ("Щукин", "shchukin"),
        ("Подъячев", "podieiachev"),
        ("Олександр Шевченко", "oleksandr shevchenko"),
        # Greek: ELOT 743.
        ("Ευάγγελος", "evangelos"),
        ("Παπαδόπουλος", "papadopoulos"),
        ("Ευθύμιος", "efthymios"),
        ("ΑΥΓΟΥΣΤΟΣ", "avgoustos"),
        ("Γεώργιος Χρήστου", "georgios christou"),
        # Arabic (no short vowels in the script).
        ("محمد", "mhmd"),
        ("عبد الله", "bd llh"),
        # Chinese and Korean: one word per syllable.
        ("王伟", "wang wei"),
        ("王小明", "wang xiao ming"),
        ("김민준", "gim min jun"),
        # Devanagari.
        ("राहुल शर्मा", "rahul srma"),
        # Mixed scripts.
        ("Anna 王", "anna wang"),
    ],
)
def test_normalise_name_other_scripts(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


VARIANTS = [
    ["Дмитрий", "Dmitriy", "Dmitry", "Dmitrii", "Dmitrij", "Dimitri", "DMITRII"],
    ["Müller", "Mueller", "Muller", "MÜLLER", "Møller"],
    ["Sørensen", "Sorensen", "Soerensen", "Sörensen", "Sorenson"],
    ["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed", "محمد", "Mehmet"],
    ["Юрий", "Yuriy", "Iurii", "Jurij", "Yury", "Yuri"],
    ["Александр", "Aleksandr", "Alexander", "Oleksandr", "Aleksander"],
    ["Ευάγγελος", "Evangelos", "Evangelos"],
    ["Παπαδόπουλος", "Papadopoulos", "Papadopulos"],
    ["Νικόλαος", "Nikolaos", "Nicolaos"],
    ["Ευθύμιος", "Efthymios", "Efthimios"],
    ["Елена", "Yelena", "Elena", "Jelena"],
    ["Сергей", "Sergey", "Sergei", "Sergej"],
    ["Наталья", "Natalia", "Natalya", "Natalja"],
    ["Schmidt", "Schmid", "Schmitt", "Shmidt"],
    ["Иванов", "Ivanov", "Ivanoff", "Iwanow"],
    ["Иосиф", "Josef", "Joseph", "Iosif", "Yosif", "Yusuf", "Youssef", "Jusuf"],
    ["Abdullah", "Abdulla", "Abdallah"],
    ["Ahmed", "Ahmad", "Ahmet", "أحمد"],
    ["Hassan", "Hasan", "حسن"],
    ["Khalid", "Khaled", "خالد"],
    ["Fatima", "Fatimah", "فاطمة"],
    ["Хрущёв", "Khrushchev", "Hrushchev"],
    ["Eriksson", "Erikson", "Ericsson", "Eriksen"],
    ["Philip", "Filip", "Phillip"],
    ["Carl", "Karl"],
    ["王伟", "Wang Wei", "WANG-WEI"],
    ["राहुल शर्मा", "Rahul Sharma"],
    ["O'Brien", "OBRIEN", "O’Brien"],
]


@pytest.mark.parametrize("names", VARIANTS, ids=[group[1] for group in VARIANTS])
def test_name_key_collides_spelling_variants(names: list[str]) -> None:
    keys = {name_key(name) for name in names}
    assert len(keys) == 1, {name: name_key(name) for name in names}


@pytest.mark.parametrize(
    "a,b",
    [("Anna", "Maria"), ("Ivanov", "Petrov"), ("Mohammed", "Hamid"), ("Schmidt", "Schneider"),
     ("Eriksson", "Eriksdottir"), ("Wang", "Li"), ("Müller", "Miller Jr")],
)
def test_name_key_keeps_different_names_apart(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize(
    "raw,expected",
    [("Mohammed", "mhmt"), ("Aleksandr", "lxndr"), ("Anna Maria", "n mr"), ("Ai", "a"),
     ("Yelena", "ln"), ("Yusuf", "ysv"), ("", "")],
)
def test_name_key_examples(raw: str, expected: str) -> None:
    assert name_key(raw) == expected


def test_person_key_ignores_order_and_fields() -> None:
    keys = {
        person_key("ANNA MARIA", "ERIKSSON"),
        person_key("", "ERIKSSON ANNA MARIA"),
        person_key("Anna-Maria", "Eriksson"),
        person_key("Eriksson", "Anna Maria"),
        person_key("Maria Anna", "Ericsson"),
        person_key("Анна Мария", "Эрикссон"),
    }
    assert len(keys) == 1
    assert person_key("Anna", "Eriksson") != person_key("Anna Maria", "Eriksson")


def test_person_key_matches_mrz_names() -> None:
    mrz = parse_mrz(
        [
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        ]
    )
    assert person_key(mrz.given_names, mrz.surname) == person_key("Anna-María", "Eriksson")
    assert normalise_name(mrz.given_names) == normalise_name("Anna-María")


def test_person_key_reordered_non_latin() -> None:
    assert person_key("Дмитрий", "Иванов") == person_key("IVANOV", "DMITRII")
    assert person_key("伟", "王") == person_key("Wei", "Wang") == person_key("", "Wang Wei")


@pytest.mark.parametrize(
    "raw,expected",
    [("l898902c3", "L898902C3"), (" L-898 902.C3<< ", "L898902C3"),
     ("\u0410\u0412\u0421123", "ABC123"),  # Cyrillic look-alikes, by look not sound
     ("\u0391\u0392\u03a1\u03a7-9", "ABPX9"),  # Greek look-alikes
     ("Ｌ８９８", "L898")],
)
def test_normalise_document_number(raw: str, expected: str) -> None:
    assert normalise_document_number(raw) == expected


@pytest.mark.parametrize("raw,expected", [("ab-12 34", "AB1234"), ("Nr. 0042/7", "NR00427")])
def test_normalise_serial(raw: str, expected: str) -> None:
    assert normalise_serial(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [("1m8-gdm9a xkp042788", "1M8GDM9AXKP042788"),
     ("1M8GDM9AXKPO42788", "1M8GDM9AXKP042788"),  # O typed for 0
     ("IM8GDM9AXKP042788", "1M8GDM9AXKP042788"),
     ("QM8GDM9AXKP042788", "0M8GDM9AXKP042788"),
     ("CO 12345 IQ", "CO12345IQ")],  # not 17 characters: a pre-1981 number, kept as is
)
def test_normalise_vin(raw: str, expected: str) -> None:
    assert normalise_vin(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [("deu", "DEU"), (" UTO ", "UTO"), ("D<<", "DEU"), ("d", "DEU"), ("XPO", "XPO"),
     ("EUR", "EUR"), ("gbd", "GBD"), ("\u0410\u0412\u0421", "ABC")],
)
def test_normalise_country(raw: str, expected: str) -> None:
    assert normalise_country(raw) == expected


@pytest.mark.parametrize("raw", ["", "DE", "GB", "DEUT", "D1U", "12", "<<<", "U T O"])
def test_normalise_country_rejects(raw: str) -> None:
    with pytest.raises(SchemaError, match="three letters"):
        normalise_country(raw)


def test_organisation_codes_are_valid_codes() -> None:
    for code in ORGANISATION_CODES:
        assert normalise_country(code) == code


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("Smith & Wesson", "SMITH AND WESSON"),
        ("Smith and Wesson Inc.", "SMITH AND WESSON"),
        ("S&W", "SMITH AND WESSON"),
        ("Heckler & Koch GmbH", "HECKLER AND KOCH"),
        ("H&K", "HECKLER AND KOCH"),
        ("VW AG", "VOLKSWAGEN"),
        ("Volkswagen", "VOLKSWAGEN"),
        ("Mercedes-Benz", "MERCEDES BENZ"),
        ("Škoda Auto", "SKODA AUTO"),
        ("Co", "CO"),  # a lone legal form is kept
        ("Ford Motor Co Inc", "FORD MOTOR"),
    ],
)
def test_normalise_make(raw: str, expected: str) -> None:
    assert normalise_make(raw) == expected


def test_make_aliases_are_stable() -> None:
    for alias, make in MAKE_ALIASES.items():
        assert normalise_make(alias) == make == normalise_make(make)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1975-03-01", "1975-03-01"),
        ("1975/03/01", "1975-03-01"),
        ("1975/3/1", "1975-03-01"),
        ("19750301", "1975-03-01"),
        ("01.03.1975", "1975-03-01"),
        ("1.3.1975", "1975-03-01"),
        (" 2000-02-29 ", "2000-02-29"),
        ("1975-03", "1975-03"),
        ("1975/3", "1975-03"),
        ("03.1975", "1975-03"),
        ("1975", "1975"),
        ("1975-00-00", "1975"),
        ("1975-03-00", "1975-03"),
        ("00.00.1975", "1975"),
    ],
)
def test_normalise_date(raw: str, expected: str) -> None:
    assert normalise_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "75", "1975-13-01", "1975-02-30", "1900-02-29", "31.04.1975", "1975-3-1x",
     "0975-01-01", "1975.03.01", "01/03/1975", "1975-03-01T00:00", "١٩٧٥"],
)
def test_normalise_date_rejects(raw: str) -> None:
    with pytest.raises(SchemaError):
        normalise_date(raw)


NORMALISERS: list[Callable[[str], str]] = [
    normalise_document_number,
    normalise_serial,
    normalise_vin,
    normalise_country,
    normalise_make,
    normalise_date,
]


@pytest.mark.parametrize("fn", [*NORMALISERS, normalise_name, name_key])
def test_non_strings_are_schema_errors(fn: Callable[[str], str]) -> None:
    with pytest.raises(SchemaError):
        fn(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", NORMALISERS)
def test_nothing_left_is_schema_error(fn: Callable[[str], str]) -> None:
    with pytest.raises(SchemaError):
        fn(" - ")


def test_lone_surrogate_does_not_raise() -> None:
    assert normalise_name("a\ud800b") == "ab"


@given(st.text())
@settings(max_examples=500)
def test_normalise_name_is_idempotent_and_ascii(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", once)


@given(st.text())
@settings(max_examples=500)
def test_name_key_never_raises_and_agrees_with_normalised_input(text: str) -> None:
    key = name_key(text)
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", key)
    assert name_key(normalise_name(text)) == key
    assert len(key.split()) == len(normalise_name(text).split())


@given(st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=300)
def test_person_key_is_symmetric(a: str, b: str) -> None:
    assert person_key(a, b) == person_key(b, a)
    assert person_key(a, b) == person_key("", f"{b} {a}")


@pytest.mark.parametrize("fn", NORMALISERS)
@given(text=st.text())
@settings(max_examples=200)
def test_identifier_normalisers_are_idempotent_or_refuse(
    fn: Callable[[str], str], text: str
) -> None:
    try:
        once = fn(text)
    except SchemaError:
        return
    assert fn(once) == once


@given(st.dates())
def test_every_real_date_is_accepted_in_each_form(day: object) -> None:
    iso = str(day)
    if int(iso[:4]) < 1000:
        return
    y, m, d = iso.split("-")
    assert normalise_date(iso) == iso
    assert normalise_date(f"{y}/{m}/{d}") == iso
    assert normalise_date(f"{d}.{m}.{y}") == iso
    assert normalise_date(f"{y}{m}{d}") == iso


ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=40)


@settings(max_examples=300, derandomize=True)
@given(ASCII)
def test_ascii_skips_only_steps_that_change_nothing(text: str) -> None:
    """Normalising ASCII text skips NFKC, case-folding and transliteration: on
    ASCII each of them is the identity, so the short way gives the same key."""
    assert normalise._folded_unicode(text) == text.lower()
    assert normalise._upper_unicode(text) == text.upper()
    assert anyascii(unicodedata.normalize("NFKC", text)) == text

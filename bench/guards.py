"""Re-entry guards against other countries' spellings: recall, false refusals, cost.

A revoked person is re-entered under spellings made by libraries and tables
that are independent of `protocol/identifiers/` (normalise.py, person_keys.py):

- Russian: every Russian scheme `iuliia` 0.13.0 implements (ALA-LC, BGN/PCGN,
  BS 2979, GOST 16876, GOST 52290, GOST 52535, GOST 7034, GOST 779 = ISO 9,
  ICAO Doc 9303, ISO 9:1954/1968, MosMetro, MVD 310/782, scientific, UNGEGN,
  Telegram, Wikipedia, Yandex), `cyrtranslit` 1.2.0 ('ru'), and the German
  (Duden) and French (Ministère des Affaires étrangères / older French
  passports) transcriptions written out in `_DE` and `_FR` below;
- Ukrainian, Serbian, Bulgarian: `cyrtranslit` ('ua', 'sr', 'bg') and the
  Ukrainian passport table (KMU 2010, `_UA`);
- Greek: `cyrtranslit` 'el' (the keyboard-style 'greeklish' spelling) and
  the spoken-form spelling in `_GREEK_PHONETIC` (η, ι, υ, ει, οι -> i);
- Arabic: `ARABIC`, the spellings of each name in passports of several
  countries (sources beside each), and the name in Arabic script;
- Latin-script names in German, French, Spanish and Turkish spellings
  (`LATIN`), with and without diacritics;
- structure: a middle name added or dropped, given names moved into the
  surname field and back, a hyphen inside the surname.

Different people: pairs with the same date of birth drawn (seeded) from the
US Census name lists shipped by the `names` package (random pairs, twins who
share a surname, namesakes who share a forename), the pairs of issue 17
(Ivan Petrov/Ivana Petrova, Maria/Mario Rossi, Ali Hassan/Ali Hussein, Miller/
Müller Jürgen) and different people among the native-script names above.

Two tiers (record-format 5.2 and 5.4): a re-entry whose header shares a *same* tag
with the revocation's `guards` is refused; one that shares a *similar* tag with its
`similar` guards is held for the CCF. Printed: recall (refused or held) per script,
hard refusals of different people, holds of different people, tags per record (in
the header, and in a revocation) and guard-check cost per entry (header tags derived
from the record, then looked up in a set of 10,000 guards).

    python bench/guards.py [--quick] [--pairs N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable

import cyrtranslit  # type: ignore[import-untyped]
import iuliia  # type: ignore[import-untyped]
import names  # type: ignore[import-untyped]

from noticenet.protocol.index.guard_tags import same_tags_for, similar_guards_for, tags_for
from noticenet.protocol.records.records import Notice, Person, TravelDocument

GUARD_KEY = bytes(range(32))
DOB = "1979-03-14"

# ---- Cyrillic ----------------------------------------------------------------------------

RUSSIAN = [
    ("Кузнецов", "Александр"), ("Щербаков", "Юрий"), ("Смирнов", "Михаил"),
    ("Иванов", "Дмитрий"), ("Попов", "Вячеслав"), ("Соколов", "Алексей"),
    ("Лебедев", "Сергей"), ("Козлов", "Андрей"), ("Новиков", "Евгений"),
    ("Морозов", "Пётр"), ("Петров", "Фёдор"), ("Волков", "Николай"),
    ("Соловьёв", "Илья"), ("Васильев", "Владимир"), ("Зайцев", "Игорь"),
    ("Павлов", "Юлия"), ("Семёнов", "Артём"), ("Голубев", "Ксения"),
    ("Виноградов", "Наталья"), ("Богданов", "Татьяна"), ("Воробьёв", "Елена"),
    ("Фёдоров", "Ольга"), ("Михайлов", "Екатерина"), ("Беляев", "Анастасия"),
    ("Тарасов", "Максим"), ("Белов", "Григорий"), ("Комаров", "Константин"),
    ("Орлов", "Борис"), ("Киселёв", "Олег"), ("Макаров", "Роман"),
    ("Андреев", "Валерий"), ("Ковалёв", "Яков"), ("Ильин", "Степан"),
    ("Гусев", "Семён"), ("Титов", "Людмила"), ("Кузьмин", "Аркадий"),
    ("Кудрявцев", "Георгий"), ("Баранов", "Эдуард"), ("Хрущёв", "Никита"),
    ("Жуков", "Георгий"),
]
UKRAINIAN = [
    ("Шевченко", "Тарас"), ("Коваленко", "Олександр"), ("Бондаренко", "Андрій"),
    ("Ткаченко", "Юлія"), ("Кравченко", "Віктор"), ("Олійник", "Сергій"),
    ("Шевчук", "Дмитро"), ("Поліщук", "Олена"), ("Мельник", "Ігор"),
    ("Лисенко", "Євген"), ("Гончаренко", "Ганна"), ("Яковенко", "Юрій"),
]
SERBIAN = [
    ("Јовановић", "Никола"), ("Петровић", "Ђорђе"), ("Николић", "Љубица"),
    ("Марковић", "Милош"), ("Ђорђевић", "Јелена"), ("Стојановић", "Драган"),
    ("Илић", "Жељко"), ("Станковић", "Његош"), ("Павловић", "Душан"),
]
BULGARIAN = [
    ("Иванов", "Георги"), ("Димитров", "Христо"), ("Петрова", "Цветелина"),
    ("Стоянов", "Йордан"), ("Тодорова", "Жана"), ("Николов", "Любомир"),
    ("Христова", "Юлия"), ("Атанасов", "Щерьо"),
]

# German (Duden) transcription of Russian, as in German newspapers and older
# German documents (de.wikipedia.org/wiki/Deutsche_Transkription_aus_dem_Russischen).
_DE = {
    "а": "a", "б": "b", "в": "w", "г": "g", "д": "d", "е": "e", "ё": "jo", "ж": "sch",
    "з": "s", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch", "ц": "z",
    "ч": "tsch", "ш": "sch", "щ": "schtsch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "ju", "я": "ja",
}
# French transcription (fr.wikipedia.org/wiki/Transcription_du_russe_en_français),
# the spelling of French passports and of older Russian passports' French line.
_FR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "ou", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "tch", "ш": "ch", "щ": "chtch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "iou", "я": "ia",
}
# Ukrainian passports: the national table of 2010 (KMU resolution 55, 27.01.2010);
# initial forms of є ї й ю я are ye yi y yu ya.
_UA = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu",
    "я": "ia", "'": "",
}
_UA_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}


def _table(word: str, table: dict[str, str], initial: dict[str, str] | None = None) -> str:
    out = []
    for i, ch in enumerate(word.lower()):
        out.append((initial or {}).get(ch, table.get(ch, ch)) if i == 0 else table.get(ch, ch))
    text = "".join(out)
    if table is _DE:  # Duden: -ий/-ый -> -i, е after a vowel or initial -> je
        text = text.replace("ii", "i").replace("yi", "y")
    return text.capitalize()


def _iuliia_schemes() -> list[tuple[str, Callable[[str], str]]]:
    skip = {"UZ"}  # Uzbek, not Russian
    found = []
    for name in sorted(dir(iuliia)):
        schema = getattr(iuliia, name)
        if name.isupper() and name not in skip and hasattr(schema, "translate"):
            found.append((f"iuliia {name}", schema.translate))
    return found


def cyrillic_variants(word: str, lang: str) -> dict[str, str]:
    """Latin spellings of a Cyrillic word, by scheme."""
    out: dict[str, str] = {}
    if lang == "ru":
        for scheme, fn in _iuliia_schemes():
            out[scheme] = fn(word)
        out["German Duden"] = _table(word, _DE)
        out["French"] = _table(word, _FR)
    if lang == "ua":
        out["KMU 2010"] = _table(word, _UA, _UA_INITIAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out[f"cyrtranslit {lang}"] = cyrtranslit.to_latin(word, lang)
    return out


# ---- Greek -------------------------------------------------------------------------------

GREEK = [
    ("Παπαδόπουλος", "Γεώργιος"), ("Νικολάου", "Δημήτριος"), ("Οικονόμου", "Ευάγγελος"),
    ("Καραγιάννης", "Ιωάννης"), ("Βασιλείου", "Αικατερίνη"), ("Γεωργίου", "Ελένη"),
    ("Χατζηδάκης", "Κωνσταντίνος"), ("Αντωνίου", "Θεόδωρος"), ("Μαυρίδης", "Χρήστος"),
    ("Ευθυμίου", "Σοφία"),
]
# Spoken-form (phonetic) spelling, common in older passports and in the press.
_GREEK_PHONETIC = [
    ("ου", "ou"), ("αι", "e"), ("ει", "i"), ("οι", "i"), ("υι", "i"), ("αυ", "av"),
    ("ευ", "ev"), ("γγ", "ng"), ("γκ", "g"), ("μπ", "b"), ("ντ", "d"), ("τσ", "ts"),
    ("α", "a"), ("β", "v"), ("γ", "g"), ("δ", "d"), ("ε", "e"), ("ζ", "z"), ("η", "i"),
    ("θ", "th"), ("ι", "i"), ("κ", "k"), ("λ", "l"), ("μ", "m"), ("ν", "n"), ("ξ", "x"),
    ("ο", "o"), ("π", "p"), ("ρ", "r"), ("σ", "s"), ("ς", "s"), ("τ", "t"), ("υ", "i"),
    ("φ", "f"), ("χ", "ch"), ("ψ", "ps"), ("ω", "o"),
]


def greek_variants(word: str) -> dict[str, str]:
    import unicodedata

    bare = "".join(
        c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c)
    )
    phonetic = bare
    for a, b in _GREEK_PHONETIC:
        phonetic = phonetic.replace(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"cyrtranslit el": cyrtranslit.to_latin(word, "el"), "phonetic": phonetic}


# ---- Arabic ------------------------------------------------------------------------------

# (Arabic script, spellings in use). Sources: ICAO Doc 9303 Part 3 (2021) section 6
# table for Arabic; passport spellings by country as listed in en.wikipedia.org articles
# "Muhammad (name)", "Abd al-Rahman", "Hussein (name)", "Yusuf (name)", "Ibrahim",
# "Khalid", "Abdullah (name)", "Mustafa", "Omar (name)", "Ahmad (name)" and the
# transliteration notes of fr.wikipedia.org "Transcription de l'arabe".
ARABIC_GIVEN = [
    ("محمد", ["Muhammad", "Mohammed", "Mohamed", "Mohammad", "Mouhamed", "Muhammed"]),
    ("عبد الرحمن", ["Abdulrahman", "Abd al-Rahman", "Abdel Rahman", "Abdul Rahman",
                    "Abdurrahman", "Abderrahmane", "Abdelrahman", "Abd-Al-Rahman"]),
    ("حسين", ["Hussein", "Hussain", "Husain", "Houssein", "Husayn", "Hossein"]),
    ("يوسف", ["Yusuf", "Youssef", "Yousef", "Yousif", "Youssouf", "Yusef"]),
    ("إبراهيم", ["Ibrahim", "Ebrahim", "Brahim", "Ibraheem"]),
    ("خالد", ["Khalid", "Khaled", "Khaleed"]),
    ("عبد الله", ["Abdullah", "Abdallah", "Abd Allah", "Abdellah", "Abdulla", "Abdalla"]),
    ("مصطفى", ["Mustafa", "Mostafa", "Moustafa", "Mustapha"]),
    ("عمر", ["Omar", "Umar", "Omer"]),
    ("أحمد", ["Ahmed", "Ahmad", "Ahmet"]),
    ("علي", ["Ali", "Aly"]),
    ("جمال", ["Jamal", "Djamel", "Jamel", "Gamal"]),
    ("عثمان", ["Othman", "Uthman", "Osman", "Usman", "Outhmane"]),
    ("سعيد", ["Said", "Saeed", "Saied", "Saïd"]),
]
ARABIC_FAMILY = [
    ("الحسن", ["Al-Hassan", "Al Hassan", "El Hassan", "Alhassan", "Elhassan", "Hassan"]),
    ("الرشيد", ["Al-Rashid", "Al Rashid", "Alrashid", "Ar-Rashid", "El Rachid", "Rashid"]),
    ("بن لادن", ["Bin Laden", "Bin Ladin", "Ben Laden", "Binladen", "Ibn Ladin"]),
    ("الشريف", ["Al-Sharif", "Al Sharif", "Ash-Sharif", "El Cherif", "Sharif", "Cherif"]),
    ("القاسم", ["Al-Qasim", "Al Kasim", "El Kacem", "Alqasim", "Qasim"]),
    ("منصور", ["Mansour", "Mansur", "Mansoor"]),
]

# ---- Latin-script names in several countries' spellings -----------------------------------

LATIN = [
    (("Jürgen", "Müller"), [("Juergen", "Mueller"), ("Jurgen", "Muller"), ("JUERGEN", "MÜLLER")]),
    (("François", "Lefèvre"), [("Francois", "Lefevre"), ("FRANCOIS", "LEFEVRE")]),
    (("José", "Núñez"), [("Jose", "Nunez"), ("JOSE", "NUNEZ")]),
    (("Şahin", "Öztürk"), [("Sahin", "Ozturk"), ("Sahin", "Oeztuerk"), ("SAHIN", "OZTURK")]),
    (("Çağrı", "Yılmaz"), [("Cagri", "Yilmaz"), ("Cagri", "Yilmaz")]),
    (("Søren", "Kierkegaard"), [("Soren", "Kierkegaard"), ("Soeren", "Kierkegaard")]),
    (("Zoë", "Günther"), [("Zoe", "Guenther"), ("Zoe", "Gunther")]),
    (("Małgorzata", "Wójcik"), [("Malgorzata", "Wojcik")]),
]


# One person's forename in other languages (Wikipedia articles on the names: "Joseph",
# "Yusuf (name)", "Alexander", "Helen", "George", "Michael", "Peter", "John").
LANGUAGE_FORMS = [
    (("Josef", "Nguyen"), ("Yusuf", "Nguyen")), (("Josef", "Nguyen"), ("Giuseppe", "Nguyen")),
    (("Yusuf", "Demir"), ("Josef", "Demir")), (("Yusuf", "Demir"), ("Joseph", "Demir")),
    (("Aleksandr", "Petrenko"), ("Oleksandr", "Petrenko")),
    (("Alexander", "Weber"), ("Alessandro", "Weber")),
    (("Elena", "Popa"), ("Helena", "Popa")), (("Elena", "Popa"), ("Olena", "Popa")),
    (("Olga", "Berg"), ("Olha", "Berg")), (("Olga", "Berg"), ("Helga", "Berg")),
    (("Sergei", "Lupu"), ("Serhiy", "Lupu")), (("Sergei", "Lupu"), ("Sergio", "Lupu")),
    (("Mikhail", "Orlov"), ("Michael", "Orlov")), (("Mikhail", "Orlov"), ("Michal", "Orlov")),
    (("Pyotr", "Sokol"), ("Peter", "Sokol")), (("Pyotr", "Sokol"), ("Pietro", "Sokol")),
    (("Ivan", "Horvat"), ("Johann", "Horvat")), (("Ivan", "Horvat"), ("Juan", "Horvat")),
    (("Georgios", "Pappas"), ("Jorge", "Pappas")), (("Georgios", "Pappas"), ("Yuri", "Pappas")),
    (("Mehmet", "Kaya"), ("Mahmut", "Kaya")), (("Ahmed", "Kaya"), ("Hamed", "Kaya")),
]


def _typo(person: tuple[str, str], rng: random.Random) -> tuple[str, str]:
    """One edit in one of the two names: two neighbouring letters swapped, a letter
    dropped, doubled or replaced (a vowel by a vowel, a consonant by a consonant)."""
    which = rng.randrange(2)
    word = person[which].lower()
    i = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
    how = rng.choice(("swap", "drop", "double", "replace"))
    if how == "swap" and i + 1 < len(word):
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif how == "drop":
        word = word[:i] + word[i + 1 :]
    elif how == "double":
        word = word[: i + 1] + word[i:]
    else:
        pool = "aeiou" if word[i] in "aeiou" else "bcdfgklmnprstvz"
        word = word[:i] + rng.choice([c for c in pool if c != word[i]]) + word[i + 1 :]
    edited = word.capitalize()
    return (edited, person[1]) if which == 0 else (person[0], edited)


# ---- measuring ---------------------------------------------------------------------------


REFUSED, HELD, PASSED = "refused", "held", "passed"


def _record(forename: str, name: str, dob: str) -> Notice | None:
    try:
        return Notice(subject=Person(name, forename, dob))
    except Exception:  # a spelling the schema refuses cannot be entered either
        return None


def _tags(forename: str, name: str, dob: str = DOB) -> frozenset[bytes]:
    """The tags a header carries for the person (both tiers)."""
    record = _record(forename, name, dob)
    return frozenset(tags_for(record, GUARD_KEY)) if record else frozenset()


def _guards(forename: str, name: str, dob: str = DOB) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """(same, similar) tags a revocation of the person carries."""
    record = _record(forename, name, dob)
    if record is None:
        return frozenset(), frozenset()
    return (
        frozenset(same_tags_for(record, GUARD_KEY)),
        frozenset(similar_guards_for(record, GUARD_KEY)),
    )


def verdict(revoked: tuple[str, ...], again: tuple[str, ...]) -> str:
    """What a node does with `again` once `revoked` is revoked."""
    if _record(*_with_dob(again)) is None:
        return REFUSED
    same, similar = _guards(*_with_dob(revoked))
    tags = _tags(*_with_dob(again))
    if tags & same:
        return REFUSED
    return HELD if tags & similar else PASSED


def _with_dob(person: tuple[str, ...]) -> tuple[str, str, str]:
    return (person[0], person[1], person[2] if len(person) > 2 else DOB)


class Recall:
    def __init__(self) -> None:
        self.hits: dict[str, int] = defaultdict(int)
        self.held: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)
        self.misses: dict[str, list[str]] = defaultdict(list)

    def check(self, script: str, revoked: tuple[str, ...], variant: tuple[str, ...]) -> None:
        seen = verdict(revoked, variant)
        self.total[script] += 1
        if seen != PASSED:
            self.hits[script] += 1
            self.held[script] += seen == HELD
        elif len(self.misses[script]) < 4:
            self.misses[script].append(" ".join(variant))


def recall_cases(recall: Recall) -> None:
    for lang, people in (("ru", RUSSIAN), ("ua", UKRAINIAN), ("sr", SERBIAN), ("bg", BULGARIAN)):
        script = {"ru": "Russian", "ua": "Ukrainian", "sr": "Serbian", "bg": "Bulgarian"}[lang]
        for surname, given in people:
            sv, gv = cyrillic_variants(surname, lang), cyrillic_variants(given, lang)
            for scheme in sv:
                recall.check(script, (given, surname), (gv[scheme], sv[scheme]))
    for surname, given in GREEK:
        sv, gv = greek_variants(surname), greek_variants(given)
        for scheme in sv:
            recall.check("Greek", (given, surname), (gv[scheme], sv[scheme]))
    for (given_ar, given_sp), (family_ar, family_sp) in zip(
        ARABIC_GIVEN, ARABIC_FAMILY * 3, strict=False
    ):
        revoked = (given_sp[0], family_sp[0])  # as the first spelling listed
        for g in given_sp:
            for f in family_sp:
                if (g, f) != revoked:
                    recall.check("Arabic (Latin)", revoked, (g, f))
        recall.check("Arabic script", revoked, (given_ar, family_ar))
    for revoked, variants in LATIN:
        for variant in variants:
            recall.check("Latin (de/fr/es/tr)", revoked, variant)
    structure = [
        (("Anna", "Eriksson"), ("Anna Maria", "Eriksson")),
        (("Anna Maria", "Eriksson"), ("Anna", "Eriksson")),
        (("Anna Maria", "Eriksson"), ("Maria", "Eriksson")),
        (("Jürgen", "Müller"), ("Jürgen", "Mül-ler")),
        (("Jürgen", "Müller"), ("", "Müller Jürgen")),
        (("Jürgen", "Müller"), ("Müller", "Jürgen")),
        (("Jürgen Klaus", "Müller"), ("Klaus Jürgen", "Müller")),
        (("Jürgen Klaus", "Müller"), ("Jürgen", "Klaus Müller")),
        (("Александр Сергеевич", "Кузнецов"), ("Aleksandr", "Kuznetsov")),
        (("Aleksandr", "Kuznetsov"), ("Aleksandr Sergeyevich", "Kuznetsov")),
        (("Mohammed Ali", "Al-Hassan"), ("Mohammed", "Hassan")),
        (("Mohammed", "Al-Hassan"), ("Mohammed Ali", "Alhassan")),
        (("Jean-Pierre", "Dupont"), ("Jean Pierre", "Dupont")),
        (("Jean-Pierre", "Dupont"), ("Jeanpierre", "Dupont")),
        (("Ludwig", "van Beethoven"), ("Ludwig", "Beethoven")),
        (("Ludwig", "van Beethoven"), ("Ludwig", "Van-Beethoven")),
        (("Otto", "von Bismarck"), ("Otto", "Bismarck")),
        (("Pedro", "de la Cruz"), ("Pedro", "Cruz")),
        (("Pedro", "de la Cruz"), ("Pedro", "Delacruz")),
    ]
    for revoked, variant in structure:
        recall.check("structure", revoked, variant)
    dates = [(("Jürgen", "Müller", DOB), ("Jürgen", "Müller", DOB[:4])),
             (("Jürgen", "Müller", DOB), ("Jürgen", "Müller", "")),
             (("Aleksandr", "Kuznetsov", DOB), ("Alexander", "Kusnezow", DOB[:4])),
             (("Mohammed", "Al-Hassan", DOB), ("Muhammad", "Hassan", ""))]
    for revoked, variant in dates:
        recall.check("date: year only, none", revoked, variant)
    for revoked, variant in LANGUAGE_FORMS:
        recall.check("another language's form", revoked, variant)
    rng = random.Random(5)
    first, last = _census()
    for _ in range(400):
        person = (rng.choice(first), rng.choice(last))
        recall.check("typo (one edit)", person, _typo(person, rng))


def _census() -> tuple[list[str], list[str]]:
    base = os.path.dirname(names.__file__)

    def read(fname: str, n: int) -> list[str]:
        with open(os.path.join(base, fname)) as fh:
            return [line.split()[0].capitalize() for line in fh][:n]

    first = read("dist.male.first", 1000) + read("dist.female.first", 2000)
    return first, read("dist.all.last", 10000)


HARD_PAIRS = [
    (("Ivan", "Petrov"), ("Ivana", "Petrova")),
    (("Maria", "Rossi"), ("Mario", "Rossi")),
    (("Ali", "Hassan"), ("Ali", "Hussein")),
    (("Jürgen", "Miller"), ("Jürgen", "Müller")),
]


POPULATIONS = ("random pairs", "namesakes (same forename)", "twins (same surname)")


def different_people(
    pairs: int, seed: int
) -> tuple[int, int, int, list[str], list[str], dict[str, tuple[int, int]]]:
    """(hard refusals, holds, pairs, examples of each, holds and pairs by population) over
    pairs of different people born the same day: the second entered after the first was
    revoked. Half the pairs are random census names (the issue's measure); a quarter share
    the forename and a quarter the surname (twins), the hardest cases for any name key."""
    rng = random.Random(seed)
    first, last = _census()
    cases: list[tuple[str, tuple[str, str], tuple[str, str]]] = []
    for i in range(pairs):
        a = (rng.choice(first), rng.choice(last))
        if i % 4 == 0:  # twins: same surname
            b, population = (rng.choice(first), a[1]), POPULATIONS[2]
        elif i % 4 == 1:  # namesakes: same forename
            b, population = (a[0], rng.choice(last)), POPULATIONS[1]
        else:
            b, population = (rng.choice(first), rng.choice(last)), POPULATIONS[0]
        if a[0].lower() != b[0].lower() or a[1].lower() != b[1].lower():
            cases.append((population, a, b))
    cases += [("issue 17 pairs", a, b) for a, b in HARD_PAIRS]
    natives = RUSSIAN + UKRAINIAN + SERBIAN + BULGARIAN + GREEK
    for (s1, g1), (s2, g2) in zip(natives, natives[1:], strict=False):
        cases.append(("native-script names", (g1, s1), (g2, s2)))
        cases.append(("native-script names", (g1, s1), (g1, s2)))
    found: dict[str, list[str]] = {REFUSED: [], HELD: [], PASSED: []}
    by_population: dict[str, tuple[int, int]] = {}
    for population, a, b in cases:
        seen = verdict(a, b)
        found[seen].append(f"{' '.join(a)} / {' '.join(b)}")
        held, total = by_population.get(population, (0, 0))
        by_population[population] = (held + (seen == HELD), total + 1)
    refused, held = found[REFUSED], found[HELD]
    return len(refused), len(held), len(cases), refused[:8], held[:8], by_population


def tags_per_record() -> tuple[float, int, float, int]:
    """(mean, max) tags in a person's header, and (mean, max) tags in a revocation."""
    people = [(g, s) for s, g in RUSSIAN + GREEK]
    people += [(g, f) for (g, _), (f, _) in zip(ARABIC_GIVEN, ARABIC_FAMILY * 3, strict=False)]
    people += [("Anna Maria", "Eriksson"), ("Jürgen", "Müller")]
    header = [len(_tags(g, s)) for g, s in people]
    revocation = [sum(map(len, _guards(g, s))) for g, s in people]
    return statistics.mean(header), max(header), statistics.mean(revocation), max(revocation)


def cost_per_entry(n: int) -> float:
    """Microseconds to derive a notice's header tags (both tiers) and look them up among
    10,000 guards."""
    first, last = _census()
    rng = random.Random(7)
    guards = {bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(10_000)}
    records = [
        Notice(subject=Person(rng.choice(last), rng.choice(first), DOB)) for _ in range(n)
    ]
    began = time.perf_counter()
    for record in records:
        hit = any(tag in guards for tag in tags_for(record, GUARD_KEY))
        assert not hit
    return (time.perf_counter() - began) / n * 1e6


def sltd_holder_refused() -> bool:
    """Whether an SLTD whose holder is a revoked person meets the person's guards."""
    same, _ = _guards("Aleksandr", "Kuznetsov")
    doc = TravelDocument("123456789", "P", "RUS", "stolen", holder_name="Kuznetsov",
                         holder_forename="Aleksandr", holder_date_of_birth=DOB)
    return bool(same & frozenset(tags_for(doc, GUARD_KEY)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=20_000)
    args = parser.parse_args(argv)
    pairs = 4_000 if args.quick else args.pairs
    recall = Recall()
    recall_cases(recall)
    print("recall (re-entry refused or held), by script:")
    all_hits = all_held = all_total = 0
    for script in recall.total:
        hits, held, total = recall.hits[script], recall.held[script], recall.total[script]
        all_hits, all_held, all_total = all_hits + hits, all_held + held, all_total + total
        missed = "; ".join(recall.misses[script])
        print(f"  {script:26s} {hits:5d}/{total:<5d} {100 * hits / total:6.1f}%"
              f"  (held {held:4d})" + (f"   missed e.g. {missed}" if missed else ""))
    print(f"  {'all':26s} {all_hits:5d}/{all_total:<5d} {100 * all_hits / all_total:6.1f}%"
          f"  (held {all_held:4d})")
    print(f"  SLTD holder meets the person's guards: {sltd_holder_refused()}")
    refused, held, total, refused_eg, held_eg, by_population = different_people(pairs, 17)
    print(f"different people born the same day ({total} pairs):")
    print(f"  hard refusals: {refused} = {100 * refused / total:.3f}%"
          + (f"   e.g. {'; '.join(refused_eg[:4])}" if refused_eg else ""))
    print(f"  holds:         {held} = {100 * held / total:.3f}%"
          + (f"   e.g. {'; '.join(held_eg[:4])}" if held_eg else ""))
    for population, (held_n, total_n) in by_population.items():
        share = 100 * held_n / total_n
        print(f"    held among {population:28s} {held_n:5d}/{total_n:<6d} {share:6.2f}%")
    for a, b in HARD_PAIRS:
        print(f"  issue 17 pair {' '.join(a)} / {' '.join(b)}: {verdict(a, b)}")
    mean, most, rev_mean, rev_most = tags_per_record()
    print(f"tags per person record: header mean {mean:.1f}, max {most}; "
          f"revocation mean {rev_mean:.0f}, max {rev_most}")
    cost = cost_per_entry(500 if args.quick else 3000)
    print(f"guard-check cost per entry (derive tags + look up among 10,000 guards): {cost:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

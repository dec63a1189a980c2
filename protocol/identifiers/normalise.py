"""Normalised identifiers for search and for CCF re-entry guard tags.

Guard tags are keyed hashes (computed elsewhere) of the strings made here, so
these rules are part of the protocol: a change makes old guards miss. Every
function is pure and deterministic for a given `anyascii` version (pinned at
0.3.3).

Names have two levels.

`normalise_name` (exact-ish; idempotent; never raises on text):

1. Unicode NFKC, then case folding ('ß' -> 'ss', full-width letters -> ASCII
   letters).
2. Cyrillic follows ICAO Doc 9303 Part 3 where anyascii differs:
   й -> i, ю -> iu, я -> ia, ъ -> ie, є -> ie, ь dropped ('Дмитрий' ->
   'dmitrii', as printed in the passport's MRZ).
3. Greek follows ELOT 743 (used in Greek passports) where anyascii differs:
   ου -> ou; αυ, ευ, ηυ -> av, ev, iv (af, ef, if before θ κ ξ π σ τ φ χ ψ or
   at a word's end); γγ -> ng, γξ -> nx, γχ -> nch.
4. Each CJK ideograph and Hangul syllable becomes its own word, so '王伟'
   gives 'wang wei', as in 'Wang Wei' or 'Wang-Wei'. Kanji are read as
   Mandarin, so Japanese names in kanji do not meet their romanisation.
5. Everything else is transliterated by anyascii (accents stripped: 'Müller'
   -> 'muller', 'Sørensen' -> 'sorensen') and lower-cased.
6. Apostrophes and backticks are deleted, not spaced ("O'Brien" ->
   'obrien'), as the MRZ omits them (Doc 9303 Part 3); this also drops
   anyascii's marks for hamza and ayn.
7. Every other non-alphanumeric run (hyphens, dots, commas, spaces) is one
   space; leading and trailing spaces go.

`name_key` (coarse, for tolerant search and guard tags that must survive
spelling variants) applies to each word of `normalise_name`:

1. Runs of one letter collapse to one ('Eriksson'/'Erikson').
2. Left to right, longest match first: shch, sch, sh, sz -> s; tsch, tch, ch,
   cz -> c; zh -> z; kh -> h; ph -> f; th -> t; dh -> d; gh -> g; bh -> b;
   jh -> j; dt -> t; ck, c, q -> k; w -> v.
3. ks -> x ('Aleksandr' and 'Alexander' meet).
4. j -> y. A word-initial i or y before a vowel is the consonant y ('Iurii',
   'Yuriy', 'Jurij'), except before e, where it is dropped ('Yelena', 'Elena',
   'Jelena'). Any other y is the vowel i.
5. A final h is dropped ('Abdullah', 'Abdulla').
6. The vowels a, e, i, o, u are dropped: vowel spelling varies most across
   romanisations and Arabic script writes no short vowels ('Mohammed',
   'Muhammad', 'Mohamed' and 'محمد' all give 'mhmt'; ae/oe/ue as in
   'Mueller'/'Müller', ou, ee and final -ij/-iy/-ii/-y vanish with them).
7. Runs of one letter collapse again ('Mohammed' -> 'mhmmd' -> 'mhmd').
8. A final d becomes t (final devoicing: 'Mehmet', 'Schmid'/'Schmidt'), a
   final f becomes v ('Ivanoff'/'Ivanov', 'Josef'/'Joseph'/'Yusuf').
9. A word left empty keeps its first letter ('Ai' -> 'a').

The key does not bridge words split differently ('Abdel Rahman' vs
'Abdelrahman', 'Xiao Ming' vs 'Xiaoming'), Arabic long vowels written as w/y
('يوسف' -> 'vsv' vs 'Yusuf' -> 'ysv'), or Korean g/k and Greek initial b/mp.
It also joins some different names ('Schmidt'/'Smith', 'Mohammed'/'Mahmoud',
'Li'/'Lee'/'Liu'): paired with a date of birth such collisions are rare, and
they are the price of catching variants.

`person_key(forename, name)` is the sorted `name_key` words of both, so word
order and which field holds which word do not matter.

Other identifiers (each raises SchemaError when nothing valid is left):

- `normalise_document_number`, `normalise_serial`: NFKC, upper case, Cyrillic
  and Greek capitals that look like Latin ones become those (В -> B, Н -> H,
  Р -> P, С -> C, Х -> X, Β -> B, Ρ -> P, ...: by look, not sound, so a
  number typed with a homoglyph still meets its guard), then anyascii; only
  A-Z and 0-9 kept.
- `normalise_vin`: as above; a 17-character result also maps I -> 1 and
  O, Q -> 0, letters ISO 3779 never uses. Shorter pre-1981 VINs keep them.
- `normalise_country`: look-alikes mapped as above, upper case, '<' fillers
  stripped, ICAO's 'D' (Germany) -> 'DEU'; the result must be three letters
  A-Z (ISO 3166-1 alpha-3 or an ICAO code such as those in
  ORGANISATION_CODES). Alpha-2 is refused.
- `normalise_make`: upper case ASCII, '&' and '+' -> AND, punctuation ->
  space, trailing legal forms (GMBH, AG, INC, ...) dropped, then the aliases
  in MAKE_ALIASES ('VW' -> 'VOLKSWAGEN').
- `normalise_date`: YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, DD.MM.YYYY (one-digit
  day or month allowed) -> 'YYYY-MM-DD'; partial YYYY-MM, YYYY/MM, MM.YYYY ->
  'YYYY-MM' and YYYY -> 'YYYY' (notices often know only the year); a 00 month
  or day means unknown and shortens the date. Calendar-checked.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
import unicodedata

from anyascii import anyascii

from noticenet.protocol.errors import SchemaError

ORGANISATION_CODES = frozenset(
    {
        "EUE", "UNO", "UNA", "UNK", "XPO", "XXA", "XXB", "XXC", "XXX", "XOM", "XCE",
        "XBA", "XIM", "XCC", "XCO", "XEC", "XES", "XMP", "XDC", "GBD", "GBN", "GBO",
        "GBP", "GBS", "RKS",
    }
)
"""ICAO Doc 9303 Part 3 codes for organisations and special statuses (all 3 letters)."""

MAKE_ALIASES = {
    "VW": "VOLKSWAGEN",
    "MERCEDES": "MERCEDES BENZ",
    "CHEVY": "CHEVROLET",
    "S AND W": "SMITH AND WESSON",
    "H AND K": "HECKLER AND KOCH",
    "HK": "HECKLER AND KOCH",
    "SIGSAUER": "SIG SAUER",
}
"""Short or colloquial makes and the name they stand for."""

_LEGAL_FORMS = frozenset(
    {"GMBH", "AG", "KG", "INC", "LTD", "LLC", "CO", "CORP", "CORPORATION", "COMPANY",
     "SA", "SPA", "SRL", "BV", "NV", "PLC", "AB", "AS", "OY", "SAS", "KK"}
)
_COUNTRY_ALIASES = {"D": "DEU"}

_CYRILLIC = str.maketrans({"й": "i", "ю": "iu", "я": "ia", "ъ": "ie", "є": "ie", "ь": ""})
_GREEK_PAIRS = re.compile("[αεη][υύ]|ο[υύ]|γ[γξχ]")
_GREEK_VOICELESS = frozenset("θκξπστφχψς")
_GREEK_GAMMA = {"γ": "ng", "ξ": "nx", "χ": "nch"}
_GREEK_VOWEL = {"α": "a", "ε": "e", "η": "i"}
_SYLLABIC = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3\U00020000-\U0003134f]"
)
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТУХІЈЅҮԚԜΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEKMHOPCTYXIJSYQWABEZHIKMNOPTYX"
)
_APOSTROPHES = re.compile("['`]")
_NON_ALNUM_LOWER = re.compile("[^a-z0-9]+")
_NON_ALNUM_UPPER = re.compile("[^A-Z0-9]+")

_DIGRAPHS = {
    "shch": "s", "tsch": "c", "sch": "s", "tch": "c", "ch": "c", "cz": "c", "ck": "k",
    "dt": "t", "sh": "s", "sz": "s", "zh": "z", "kh": "h", "ph": "f", "th": "t",
    "dh": "d", "gh": "g", "bh": "b", "jh": "j", "c": "k", "q": "k", "w": "v",
}
_DIGRAPH_RE = re.compile("|".join(sorted(_DIGRAPHS, key=len, reverse=True)))
_VOWELS = re.compile("[aeiou]")
_RUNS = re.compile(r"(.)\1+")

_DATE_FORMS = (
    (re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})"), (1, 2, 3)),
    (re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"), (1, 2, 3)),
    (re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})"), (3, 2, 1)),
    (re.compile(r"([0-9]{4})[-/]([0-9]{1,2})"), (1, 2, 0)),
    (re.compile(r"([0-9]{1,2})\.([0-9]{4})"), (2, 1, 0)),
    (re.compile(r"([0-9]{4})"), (1, 0, 0)),
)


def _text(value: object, what: str) -> str:
    """`value` itself if it is a str, else SchemaError."""
    if not isinstance(value, str):
        raise SchemaError(f"{what} must be a string, got {type(value).__name__}")
    return value


# ---- names --------------------------------------------------------------------------------


def _greek_pair(match: re.Match[str]) -> str:
    """ELOT 743 spelling of one Greek vowel or gamma digraph."""
    pair = match.group()
    first, second = pair[0], pair[1]
    if first == "ο":
        return "ou"
    if first == "γ":
        return _GREEK_GAMMA[second]
    following = match.string[match.end() : match.end() + 1]
    voiceless = following == "" or following in _GREEK_VOICELESS or not following.isalpha()
    return _GREEK_VOWEL[first] + ("f" if voiceless else "v")


def normalise_name(s: str) -> str:
    """Transliterate to ASCII, case- and accent-fold, words single-spaced (see module doc)."""
    text = _APOSTROPHES.sub("", _folded(_text(s, "a name")))
    return " ".join(_NON_ALNUM_LOWER.sub(" ", text).split())


def _folded(text: str) -> str:
    """NFKC, case-folded, transliterated to lower-case ASCII.

    ASCII text (most names, and every MRZ) is only lowered: each step is the
    identity on it, which a test checks; the steps cost several microseconds.
    """
    if text.isascii():
        return text.lower()
    return _folded_unicode(text)


def _folded_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _GREEK_PAIRS.sub(_greek_pair, text.translate(_CYRILLIC))
    return anyascii(_SYLLABIC.sub(r" \g<0> ", text)).lower()


def _word_key(word: str) -> str:
    """The coarse phonetic key of one normalised word (rules 1-9 of name_key)."""
    key = _RUNS.sub(r"\1", word)
    key = _DIGRAPH_RE.sub(lambda m: _DIGRAPHS[m.group()], key).replace("ks", "x")
    key = key.replace("j", "y")
    head = ""
    if len(key) > 1 and key[0] in "iy" and key[1] in "aeiou":
        head, key = ("" if key[1] == "e" else "y"), key[1:]
    key = key.replace("y", "i")
    if len(key) > 1 and key.endswith("h"):
        key = key[:-1]
    key = _RUNS.sub(r"\1", head + _VOWELS.sub("", key))
    if key.endswith("d"):
        key = key[:-1] + "t"
    elif key.endswith("f"):
        key = key[:-1] + "v"
    return key or word[0]


def name_key(s: str) -> str:
    """Coarse key of a name that lets common spelling variants collide (see module doc)."""
    return " ".join(_word_key(word) for word in normalise_name(s).split())


def person_key(forename: str, name: str) -> str:
    """Order-insensitive key of a full name: the sorted name_key words of both parts."""
    words = name_key(forename).split() + name_key(name).split()
    return " ".join(sorted(words))


# ---- other identifiers --------------------------------------------------------------------


def _ascii_upper(s: str, what: str) -> str:
    """NFKC, upper case, look-alike Cyrillic/Greek to Latin, then anyascii.

    ASCII text is only upper-cased: each step is the identity on it (tested).
    """
    text = _text(s, what)
    return text.upper() if text.isascii() else _upper_unicode(text)


def _upper_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).upper().translate(_LOOKALIKES)
    return anyascii(text).upper()


def _alnum_upper(s: str, what: str) -> str:
    """`_ascii_upper` keeping only A-Z and 0-9; SchemaError if nothing is left."""
    text = _NON_ALNUM_UPPER.sub("", _ascii_upper(s, what))
    if not text:
        raise SchemaError(f"{what} {s!r} has no letters or digits")
    return text


def normalise_document_number(s: str) -> str:
    """A travel document number as upper-case A-Z/0-9 only ('l-898 902c3' -> 'L898902C3')."""
    return _alnum_upper(s, "a document number")


def normalise_serial(s: str) -> str:
    """A serial number as upper-case A-Z/0-9 only ('ab-12 34' -> 'AB1234')."""
    return _alnum_upper(s, "a serial number")


def normalise_vin(s: str) -> str:
    """A VIN as upper-case A-Z/0-9; 17-character VINs also map I->1, O->0, Q->0."""
    text = _alnum_upper(s, "a VIN")
    if len(text) == 17:
        text = text.translate(str.maketrans("IOQ", "100"))
    return text


def normalise_country(s: str) -> str:
    """An ISO 3166-1 alpha-3 or ICAO 3-letter code, upper case ('d<<' -> 'DEU')."""
    text = _ascii_upper(s, "a country code").strip().rstrip("<")
    text = _COUNTRY_ALIASES.get(text, text)
    if re.fullmatch("[A-Z]{3}", text) is None:
        raise SchemaError(f"country code {s!r} is not three letters (ISO 3166-1 alpha-3)")
    return text


def normalise_make(s: str) -> str:
    """A vehicle or firearm make: upper-case words, legal forms dropped, aliases resolved."""
    text = _text(s, "a make")
    text = (text if text.isascii() else anyascii(unicodedata.normalize("NFKC", text))).upper()
    text = text.replace("&", " AND ").replace("+", " AND ")
    words = _NON_ALNUM_UPPER.sub(" ", text).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    if not words:
        raise SchemaError(f"make {s!r} has no letters or digits")
    joined = " ".join(words)
    return MAKE_ALIASES.get(joined, joined)


def _date_parts(text: str) -> tuple[str, str, str] | None:
    """(year, month, day) strings of the first matching date form; '' for absent parts."""
    for pattern, (y, m, d) in _DATE_FORMS:
        match = pattern.fullmatch(text)
        if match:
            groups = ("",) + match.groups()
            return groups[y], groups[m], groups[d]
    return None


def normalise_date(s: str) -> str:
    """A full or partial date as 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY' (see module doc)."""
    text = _text(s, "a date").strip()
    parts = _date_parts(text)
    if parts is None:
        raise SchemaError(f"date {s!r} is not YYYY-MM-DD, YYYY/MM/DD, DD.MM.YYYY, YYYY-MM or YYYY")
    year, month, day = int(parts[0]), int(parts[1] or 0), int(parts[2] or 0)
    if year < 1000:
        raise SchemaError(f"date {s!r} has year {year}")
    if month == 0:
        return f"{year:04d}"
    if month > 12:
        raise SchemaError(f"date {s!r} has month {month}")
    if day == 0:
        return f"{year:04d}-{month:02d}"
    if day > calendar.monthrange(year, month)[1]:
        raise SchemaError(f"date {s!r} has day {day}, not in {year:04d}-{month:02d}")
    return f"{year:04d}-{month:02d}-{day:02d}"


# ---- person keys, derivation 2 ------------------------------------------------------------

PERSON_DERIVATION = 2
"""The version of `person_keys`; guard tags carry it in their domain ('person/2')."""

PARTICLES = frozenset(
    {"al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "bin", "ibn", "ben", "bint",
     "van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "dos", "das", "la",
     "le", "ter", "ten", "zu"}
)
"""Words dropped from a field that has other words (Arabic articles and filiation,
Dutch, German, Romance particles)."""

_ABD = re.compile("abd(?:el|ul|al|ol|ou|u|i|ur|er|ar)?")
_ABD_REST = re.compile("^(?:[aeiou]*l(?=[^aeiou])|[aeiou]+)")
_AL_JOINED = re.compile("^[ae]l(?=[^aeiou]...)")
# Graphemes read the same way in every reading, longest first.
_FIXED = {
    "schtsch": "S", "shch": "S", "chtch": "S", "tsch": "S", "dsch": "S", "dzh": "S",
    "sch": "S", "tch": "S", "sh": "S", "sz": "S", "zh": "S", "ts": "S", "tz": "S", "dj": "S",
    "s": "S", "z": "S", "kh": "H", "h": "H", "ph": "f", "th": "t", "dh": "d", "gh": "g",
    "bh": "b", "dt": "t", "ck": "k", "q": "k", "w": "v", "ks": "kS",
}
# The graphemes whose reading differs by language: 0 English/ICAO, 1 German/Slavic
# (scientific, ISO 9), 2 French.
_READINGS = (
    {"ch": "S", "j": "y", "x": "kS", "c": None},
    {"ch": "H", "j": "y", "x": "H", "c": "S"},
    {"ch": "S", "j": "S", "x": "kS", "c": None},
)
_GRAPHEMES = re.compile(
    "|".join(sorted({*_FIXED, "ch", "j", "x", "c"}, key=len, reverse=True)) + "|."
)
_VOWEL_CLASS = {"a": "A", "e": "A", "i": "I", "y": "I", "o": "U", "u": "U"}


@functools.lru_cache(maxsize=65536)
def _phonemes(word: str, reading: int, e_as: str) -> str:
    """One word as consonant classes and vowel classes (A, I, U) under one reading."""
    word = word.replace("ue", "u").replace("oe", "o")
    if len(word) > 3 and word.endswith("e") and word[-2] not in "aeiouy":
        word = word[:-1]  # a French mute final e ('Abderrahmane', 'Outhmane')
    if len(word) > 4 and word.endswith("er") and word[-3] not in "aeiouy":
        word = word[:-2] + "r"  # 'Alexander'/'Aleksandr', 'Peter'/'Petr'
    table = _READINGS[reading]
    out: list[str] = []
    for m in _GRAPHEMES.finditer(word):
        g = m.group()
        following = word[m.end() : m.end() + 1]
        if g in _FIXED:
            out.append(_FIXED[g])
        elif g == "c":
            soft = table["c"] or ("S" if following in ("e", "i", "y") else "k")
            out.append(soft)
        elif g in table:
            out.append(str(table[g]))
        else:
            out.append(g)
    text = "".join(out)
    # A glide: y before a vowel at the start is the consonant Y, dropped before e.
    if len(text) > 1 and text[0] in "iy" and text[1] in "aeiou":
        text = ("" if text[1] == "e" else "Y") + text[1:]
    text = re.sub("[td]S", "S", text)  # affricates: 'ts', 'tsch', 'dj'
    text = re.sub("(?<=[^aeiouyAIU])[yi]o(?=[^aeiouy])", "e", text)  # ё: 'Pyotr', 'Pjotr'
    text = re.sub("(?<=[aeiouy])H(?=[^aeiouy]|$)", "", text)  # a silent h: 'Abdullah'
    keyed: list[str] = []
    for run in re.findall("[aeiouy]+|[^aeiouy]", text):
        if run[0] in "aeiouy":
            last = run[-1]
            keyed.append(e_as if last == "e" else _VOWEL_CLASS[last])
        else:
            keyed.append(run)
    key = _RUNS.sub(r"\1", "".join(keyed))
    if key.endswith("d"):
        key = key[:-1] + "t"
    elif key.endswith("f"):
        key = key[:-1] + "v"
    return key or word[:1]


def _field_words(field: str, joined: bool, unvocalised: bool = False) -> list[str]:
    """The words of one name field, particles dropped and 'abd' names joined.

    `unvocalised` (similar keys only) also reads Arabic script as anyascii writes it
    without vowels: a word `bd` is `abd`, `bn` is `bin`, and a word `l` + consonant
    (the article) loses its `l`.
    """
    text = _folded(_text(field, "a name"))
    text = _APOSTROPHES.sub("", text)
    if joined:
        text = text.replace("-", "")
    words = _NON_ALNUM_LOWER.sub(" ", text).split()
    if unvocalised:
        words = [_UNVOCALISED.get(w, w) for w in words]
        words = [w[1:] if _ARTICLE_L.match(w) else w for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        while _ABD.fullmatch(word) and i + 1 < len(words):  # 'abd al rahman'
            word, i = word + words[i + 1], i + 1
        if word.startswith("abd") and len(word) > 4:
            rest = _ABD_REST.sub("", word[3:])
            word = "abd" + _RUNS.sub(r"\1", rest[:2]) + rest[2:]
        out.append(word)
        i += 1
    kept = [w for w in out if w not in PARTICLES]
    kept = [_AL_JOINED.sub("", w) for w in kept]
    return kept or out


MAX_PERSON_KEYS = 12
"""At most this many keys per person, so a header's guards (MAX_GUARDS = 32) always fit
beside the similar keys."""


def _keys_of(sets: set[tuple[str, ...]]) -> set[str]:
    return {
        " ".join(sorted(_phonemes(w, reading, e_as) for w in words))
        for words in sets
        for reading in range(len(_READINGS))
        for e_as in ("A", "I")
    }


def person_keys(forename: str, name: str) -> tuple[str, ...]:
    """The keys of a person's name under derivation 2 (see docs/record-format.md section 5):
    every reading of the spelling, of the word set and (if that fits in MAX_PERSON_KEYS
    keys) of each set with one word left out; the sorted, unique first MAX_PERSON_KEYS."""
    full: set[tuple[str, ...]] = set()
    fewer: set[tuple[str, ...]] = set()
    for joined in (False, True):
        words = tuple(_field_words(forename, joined) + _field_words(name, joined))
        if not words:
            continue
        full.add(words)
        if len(words) >= 3:
            fewer.update(words[:i] + words[i + 1 :] for i in range(len(words)))
    keys = _keys_of(full)
    with_fewer = keys | _keys_of(fewer)
    if len(with_fewer) <= MAX_PERSON_KEYS:
        keys = with_fewer
    return tuple(sorted(keys))[:MAX_PERSON_KEYS]


# ---- similar keys, derivation 1 ('person-similar/1') --------------------------------------

SIMILAR_DERIVATION = 1
"""The version of `similar_keys`; its tags carry it in their domain ('person-similar/1')."""

MAX_SIMILAR_KEYS = 8
"""At most this many similar keys per person in a header (record-format 5.4)."""

SIMILAR_CLASSES = "PKSTLNR"
"""The consonant classes of a similar word key: labials, velars, sibilants, dentals,
l, nasals, r (digits stand for themselves)."""

_UNVOCALISED = {"bd": "abd", "bn": "bin"}
_ARTICLE_L = re.compile("^l[^aeiouy].{2}")
_SIMILAR_GRAPHEMES = (
    ("tsch", "s"), ("sch", "s"), ("tch", "s"), ("sh", "s"), ("zh", "s"), ("ch", "s"),
    ("ts", "s"), ("tz", "s"), ("cz", "s"), ("sz", "s"), ("th", "s"), ("dj", "d"),
    ("ph", "f"), ("kh", "k"), ("gh", "g"), ("ck", "k"), ("x", "ks"),
)
_SIMILAR_GRAPHEME_RE = re.compile("|".join(g for g, _ in _SIMILAR_GRAPHEMES))
_SIMILAR_CLASS = {
    **dict.fromkeys("bfpv", "P"), **dict.fromkeys("cgjkqx", "K"), **dict.fromkeys("sz", "S"),
    **dict.fromkeys("dt", "T"), "l": "L", "m": "N", "n": "N", "r": "R",
}
_SIMILAR_VOWELS = frozenset("aeiouy")


@functools.lru_cache(maxsize=65536)
def similar_word_key(word: str) -> str:
    """The consonant-class skeleton of one word (record-format 5.4, step 3)."""
    word = _RUNS.sub(r"\1", word)
    word = _SIMILAR_GRAPHEME_RE.sub(lambda m: dict(_SIMILAR_GRAPHEMES)[m.group()], word)
    word = re.sub("c(?=[eiy])", "s", word)
    out: list[str] = []
    for i, ch in enumerate(word):
        before, after = word[i - 1 : i], word[i + 1 : i + 2]
        if ch in _SIMILAR_VOWELS:
            continue
        if ch == "w":
            cls = "P" if after in _SIMILAR_VOWELS and after else ""
        elif ch == "h":
            cls = "K" if after in _SIMILAR_VOWELS and after else ""
        elif ch == "j" and before in _SIMILAR_VOWELS | {"j"} and before:
            cls = ""
        else:
            cls = _SIMILAR_CLASS.get(ch, ch if ch.isdigit() else "")
        if cls and (not out or out[-1] != cls):
            out.append(cls)
    return "".join(out) or "A"


def _strip_particle_prefix(word: str) -> str:
    """A word that starts with a particle joined to a name ('binladen', 'delacruz')
    without it, while at least 4 letters remain."""
    changed = True
    while changed:
        changed = False
        for particle in _PARTICLES_LONGEST_FIRST:
            if word.startswith(particle) and len(word) - len(particle) >= 4:
                word, changed = word[len(particle) :], True
                break
    return word


_PARTICLES_LONGEST_FIRST = tuple(sorted(PARTICLES, key=lambda p: (-len(p), p)))


def _similar_sets(forename: str, name: str) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(full word-key sets, sets with one word left out) of a person (5.4, steps 1-4)."""
    full: set[tuple[str, ...]] = set()
    fewer: set[tuple[str, ...]] = set()
    for joined in (False, True):
        words = _field_words(forename, joined, True) + _field_words(name, joined, True)
        for variant in (words, [_strip_particle_prefix(w) for w in words]):
            keys = tuple(sorted(similar_word_key(w) for w in variant))
            if not keys:
                continue
            full.add(keys)
            if len(keys) >= 3:
                fewer.update(keys[:i] + keys[i + 1 :] for i in range(len(keys)))
    return full, fewer


def similar_keys(forename: str, name: str) -> tuple[str, ...]:
    """The similar keys a person's header carries (record-format 5.4): the sorted word
    keys of each full word set (usually one); sorted, unique, at most MAX_SIMILAR_KEYS.
    Sets with a word left out are on the guard side only, so headers stay small."""
    full, _ = _similar_sets(forename, name)
    return tuple(sorted(" ".join(s) for s in full))[:MAX_SIMILAR_KEYS]


def similar_guard_keys(forename: str, name: str) -> tuple[str, ...]:
    """The similar keys a revocation guards for a person (record-format 5.4, step 6):
    every key of every word set (full and one word left out) and every key one edit
    away in one word of at least 2 classes: a class deleted, inserted, or two
    neighbouring classes swapped. Sorted and unique."""
    full, fewer = _similar_sets(forename, name)
    keys: set[str] = set()
    for words in full | fewer:
        keys.add(" ".join(words))
        for i, word in enumerate(words):
            for edited in _one_edit(word):
                keys.add(" ".join(sorted(words[:i] + (edited,) + words[i + 1 :])))
    return tuple(sorted(keys))


def _one_edit(word: str) -> set[str]:
    """Word keys one deletion, insertion or neighbour swap from `word` (runs collapsed)."""
    if len(word) < 2:
        return set()
    out: set[str] = set()
    for i in range(len(word)):
        out.add(word[:i] + word[i + 1 :])
    for i in range(len(word) - 1):
        out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    for i in range(len(word) + 1):
        for cls in SIMILAR_CLASSES:
            out.add(word[:i] + cls + word[i:])
    return {_RUNS.sub(r"\1", k) or "A" for k in out} - {word}


def birth_year(date: str) -> str:
    """The year of a normalised date ('1971-04-09' -> '1971')."""
    return normalise_date(date)[:4]


CONFUSABLE_CLASSES = ("0ODQ", "1IL", "5S", "8B", "2Z", "6G")
"""Characters read for one another in document numbers and serials (record-format 5.4)."""
_CONFUSABLE = {c: cls for cls in CONFUSABLE_CLASSES for c in cls}
MAX_CONFUSABLE_CHANGES = 2


def confusable_variants(s: str) -> tuple[str, ...]:
    """The normalised numbers (or serials) `s` may have been typed as: each way of
    replacing the characters of at most MAX_CONFUSABLE_CHANGES positions by others of
    their confusable class (O Q D for 0, I L for 1, S for 5, B for 8, Z for 2, G for 6,
    and back); sorted, `s` itself left out."""
    positions = [i for i, c in enumerate(s) if c in _CONFUSABLE]
    out: set[str] = set()
    for n in range(1, MAX_CONFUSABLE_CHANGES + 1):
        for chosen in itertools.combinations(positions, n):
            options = [[c for c in _CONFUSABLE[s[i]] if c != s[i]] for i in chosen]
            for picks in itertools.product(*options):
                chars = list(s)
                for i, c in zip(chosen, picks, strict=True):
                    chars[i] = c
                out.add("".join(chars))
    return tuple(sorted(out))

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

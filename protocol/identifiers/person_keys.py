"""Person keys: the name keys re-entry guards are made of (record-format 5.2-5.4).

Derivation 2 (`person_keys`): several keys per person under the readings of
the transliteration standards, for the *same* tier (refused). Similar keys,
derivation 1 (`similar_keys`, `similar_guard_keys`): consonant-class skeletons
and their one-edit neighbours, for the *similar* tier (held); and look-alike
variants of document numbers and serials (`confusable_variants`). The text
folding they start from is `noticenet.protocol.identifiers.normalise`'s.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from noticenet.protocol.identifiers.normalise import (
    _APOSTROPHES,
    _NON_ALNUM_LOWER,
    _RUNS,
    _folded,
    _text,
    normalise_date,
)

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


@functools.lru_cache(maxsize=65536)
def _field_words(field: str, joined: bool, unvocalised: bool = False) -> tuple[str, ...]:
    """The words of one name field, particles dropped and 'abd' names joined.

    `unvocalised` (similar keys only) also reads Arabic script as anyascii writes it
    without vowels: a word `bd` is `abd`, `bn` is `bin`, and a word `l` + consonant
    (the article) loses its `l`.
    """
    text = _text(field, "a name")
    if unvocalised and not text.isascii():
        text = unicodedata.normalize("NFKC", text).casefold().translate(_HACEK)
    text = _APOSTROPHES.sub("", _folded(text))
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
    kept = tuple(_AL_JOINED.sub("", w) for w in out if w not in PARTICLES)
    return kept or tuple(out)


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

MAX_READINGS = 4
"""At most this many readings of a list of words (the first, in word order, of the product
of each word's readings)."""

MAX_SIMILAR_KEYS = 8
"""At most this many similar keys per person in a header (record-format 5.4)."""

SIMILAR_CLASSES = "PKSTLNR"
"""The consonant classes of a similar word key: labials, velars, sibilants, dentals,
l, nasals, r (digits stand for themselves)."""

_UNVOCALISED = {"bd": "abd", "bn": "bin"}
_HACEK = str.maketrans(
    {**dict.fromkeys("čćĉçċ", "ch"), **dict.fromkeys("šśŝşș", "sh"), **dict.fromkeys("žźż", "zh")}
)
"""Consonants with a diacritic that spell a sibilant (Czech, Polish, Croatian, ISO 9,
Turkish): folding them to their base letter would read č as the k of 'ca'."""
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
_GLIDE_BEFORE = _SIMILAR_VOWELS | {"j"}


@functools.lru_cache(maxsize=65536)
def similar_word_keys(word: str) -> tuple[str, ...]:
    """Every reading of one word as a similar word key (record-format 5.4, step 3): the
    word's key, and where the spelling is ambiguous also the key of its other reading:
    a leading j before a vowel read as the glide y (Slavic, German, Dutch 'Jurij',
    'Jelena'), and a word without vowels (Arabic script as anyascii writes it) with
    every h heard ('mhmd' as 'muhammad', beside 'rhmn' as 'rahman')."""
    keys = [similar_word_key(word)]
    if len(word) > 1 and word[0] == "j" and word[1] in _SIMILAR_VOWELS:
        keys.append(similar_word_key(word[1:]))
    if len(word) > 2 and "h" in word and not _SIMILAR_VOWELS.intersection(word):
        keys.append(similar_word_key(word.replace("h", "ha")))
    return tuple(dict.fromkeys(keys))


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
        elif ch == "j" and before and (before in _GLIDE_BEFORE or after in _SIMILAR_VOWELS):
            cls = ""  # a glide: 'Jurij', 'Tanja', 'Terjo'; not the j of 'Jack' or 'Benj'
        else:
            cls = _SIMILAR_CLASS.get(ch, ch if ch.isdigit() else "")
        if cls and (not out or out[-1] != cls):
            out.append(cls)
    if word[:1] in _SIMILAR_VOWELS:
        out.insert(0, "A")  # a name that starts with a vowel: 'Ellen' is not 'Lena'
    return "".join(out) or "A"


@functools.lru_cache(maxsize=65536)
def _strip_particle_prefix(word: str, longest_first: bool) -> str:
    """A word that starts with particles joined to a name ('binladen', 'delacruz',
    'vanderberg') without them, the particles tried longest or shortest first, while at
    least 4 letters remain."""
    pattern = _PARTICLE_PREFIX[longest_first]
    while (m := pattern.match(word)) is not None:
        word = word[m.end() :]
    return word


_PARTICLE_PREFIX = {
    first: re.compile(
        "^(?:" + "|".join(sorted(PARTICLES, key=lambda p: (-len(p) if first else len(p), p)))
        + ")(?=.{4})"
    )
    for first in (True, False)
}
"""The particles in the order they are tried (a regex tries its alternatives in order),
each followed by at least 4 more letters."""


def _similar_sets(forename: str, name: str) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(full word-key sets, sets with one word left out) of a person (5.4, steps 1-4)."""
    full: set[tuple[str, ...]] = set()
    fewer: set[tuple[str, ...]] = set()
    for joined in (False, True):
        words = _field_words(forename, joined, True) + _field_words(name, joined, True)
        stripped = (
            [_strip_particle_prefix(w, True) for w in words],
            [_strip_particle_prefix(w, False) for w in words],
        )
        for variant in dict.fromkeys(tuple(v) for v in (words, *stripped)):
            for reading in itertools.islice(
                itertools.product(*(similar_word_keys(w) for w in variant)), MAX_READINGS
            ):
                keys = tuple(sorted(reading))
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


MIN_SUBSTITUTED = 3
"""Word keys of at least this many classes have any class substituted; shorter ones (of
2) only their last, since a substituted first class is a different name too often
(Pattie/Lydia, Rina/Lena) while a typo rarely hits a name's first letter."""


def _one_edit(word: str) -> set[str]:
    """Word keys one deletion, insertion, neighbour swap or substitution (not of the first
    class of a 2-class key) from `word`, runs collapsed."""
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
    for i in range(0 if len(word) >= MIN_SUBSTITUTED else 1, len(word)):
        for cls in SIMILAR_CLASSES:
            out.add(word[:i] + cls + word[i + 1 :])
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

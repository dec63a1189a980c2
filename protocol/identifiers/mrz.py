"""ICAO Doc 9303 machine-readable zones: parse, verify and compose TD1, TD2 and TD3.

Layouts (positions are 0-based slices here; Doc 9303 counts from 1):

- TD1, 3 x 30 (ID cards, Part 5): line 1 = document code, issuing state,
  document number, its check digit, optional data; line 2 = date of birth and
  check, sex, date of expiry and check, nationality, optional data, composite
  check; line 3 = name.
- TD2, 2 x 36 (Part 6): line 1 = code, state, name; line 2 = document number
  and check, nationality, birth and check, sex, expiry and check, optional
  data, composite check.
- TD3, 2 x 44 (passports, Part 4): as TD2 but with a 14-character personal
  number ("optional data") that has its own check digit.

Check digits (Part 3, 4.9): each character's value ('0'-'9' = 0-9, 'A'-'Z' =
10-35, '<' = 0) times the repeating weights 7, 3, 1, summed, modulo 10.

A TD1 or TD2 document number longer than 9 characters puts its first 9 in
the number field and '<' in the check digit position; the rest of the number
opens the optional data field, followed by the check digit of the *whole*
number and one filler (Parts 5 and 6; worked example in Part 11, Appendix D.2).

Visas (MRV-A, MRV-B: document code 'V...') have other layouts and are
rejected. Field values are stored without trailing fillers; names use spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from noticenet.protocol.errors import MRZError

MRZFormat = Literal["TD1", "TD2", "TD3"]

FORMATS: dict[MRZFormat, tuple[int, int]] = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44)}
"""Number of lines and line length of each format."""

_NAME_WIDTH: dict[MRZFormat, int] = {"TD1": 30, "TD2": 31, "TD3": 39}
_OPTIONAL_WIDTH: dict[MRZFormat, int] = {"TD1": 15, "TD2": 7, "TD3": 14}
_OPTIONAL_2_WIDTH = 11  # TD1 line 2 only
_MRZ_CHARS = re.compile(r"[0-9A-Z<]*")
_NAME_WORDS = re.compile(r"[A-Z]+( [A-Z]+)*")


class MRZCheckDigitError(MRZError):
    """A check digit does not match its field; `field` names which one."""

    def __init__(self, field: str, found: str, expected: str) -> None:
        super().__init__(
            f"MRZ {field} check digit is wrong: found {found!r}, expected {expected!r}", field
        )
        self.found = found
        self.expected = expected


_VALUES = {
    **{c: ord(c) - ord("0") for c in "0123456789"},
    **{c: ord(c) - ord("A") + 10 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    "<": 0,
}  # the Doc 9303 numeric value of each MRZ character


def check_digit(s: str) -> str:
    """Return the Doc 9303 check digit ('0'-'9') of `s` (7-3-1 weighting)."""
    try:
        values = [_VALUES[c] for c in s]
    except KeyError as exc:
        raise MRZError(f"character {exc.args[0]!r} is not allowed in an MRZ") from None
    total = 7 * sum(values[0::3]) + 3 * sum(values[1::3]) + sum(values[2::3])
    return str(total % 10)


def _verify(field: str, data: str, found: str, *, filler_if_empty: bool = False) -> None:
    """Raise MRZCheckDigitError unless `found` is the check digit of `data`.

    With `filler_if_empty`, an all-filler field may carry '<' instead of a
    digit (TD3 personal number, Part 4).
    """
    if filler_if_empty and found == "<" and data.strip("<") == "":
        return
    if not found.isdigit():
        raise MRZError(f"MRZ {field} check digit must be a digit, found {found!r}")
    expected = check_digit(data)
    if found != expected:
        raise MRZCheckDigitError(field, found, expected)


def resolve_century(yymmdd: str, reference_year: int, *, max_years_ahead: int = 0) -> str | None:
    """Expand an MRZ date to 'YYYY-MM-DD', or 'YYYY-MM'/'YYYY' when day or month is '<<'.

    The year is the latest one not after `reference_year + max_years_ahead`
    that ends in YY: use 0 for birth dates (nobody is born in the future) and
    about 20 for expiry dates. Returns None when the year itself is unknown.
    The caller supplies the reference year: this module reads no clock.
    """
    if len(yymmdd) != 6 or not yymmdd[0:2].isdigit():
        return None
    yy, mm, dd = yymmdd[0:2], yymmdd[2:4], yymmdd[4:6]
    pivot = reference_year + max_years_ahead
    year = pivot - ((pivot - int(yy)) % 100)
    if not mm.isdigit():
        return f"{year:04d}"
    if not dd.isdigit():
        return f"{year:04d}-{mm}"
    return f"{year:04d}-{mm}-{dd}"


@dataclass(frozen=True)
class MRZ:
    """The fields of a verified machine-readable zone.

    Codes and numbers are stored without trailing '<' fillers (Germany's
    issuing state 'D<<' is 'D'). `date_of_birth` and `date_of_expiry` are the
    raw 'YYMMDD' strings; a birth date may have '<<' for an unknown part. `sex`
    is 'M', 'F' or 'X' (the MRZ writes unspecified as '<'). `optional_data` is
    TD1 line 1 / TD2 optional data (after any document-number overflow) or the
    TD3 personal number; `optional_data_2` is TD1 line 2 optional data.
    Constructing an MRZ validates every field, so each instance can be
    written back with `lines()`.
    """

    format: MRZFormat
    document_code: str
    issuing_state: str
    document_number: str
    nationality: str
    date_of_birth: str
    sex: str
    date_of_expiry: str
    surname: str
    given_names: str
    optional_data: str = ""
    optional_data_2: str = ""

    def __post_init__(self) -> None:
        _validate(self)

    def birth_date(self, reference_year: int) -> str | None:
        """Date of birth as 'YYYY-MM-DD' (or partial), resolved against `reference_year`."""
        return resolve_century(self.date_of_birth, reference_year)

    def expiry_date(self, reference_year: int) -> str:
        """Date of expiry as 'YYYY-MM-DD', at most 20 years after `reference_year`."""
        date = resolve_century(self.date_of_expiry, reference_year, max_years_ahead=20)
        if date is None:  # unreachable: construction requires an all-digit expiry
            raise MRZError("MRZ date of expiry is unknown")
        return date

    def lines(self) -> tuple[str, ...]:
        """The MRZ lines, with every check digit computed."""
        return _compose_lines(self)


# ---- validation ---------------------------------------------------------------------------


def _require(ok: bool, message: str) -> None:
    """Raise MRZError(message) unless `ok` (for fixed messages: a formatted one is
    built only on failure, at the call site, since these checks run on every
    SLTD record that arrives)."""
    if not ok:
        raise MRZError(message)


def _check_code(field: str, value: str, min_len: int, max_len: int) -> None:
    """A code field: min_len..max_len letters, stored without fillers."""
    if not (
        min_len <= len(value) <= max_len and value.isascii() and value.isalpha()
        and value.isupper()
    ):
        raise MRZError(
            f"MRZ {field} must be {min_len}-{max_len} letters A-Z, got {value!r}", field
        )


def _check_state(field: str, value: str) -> None:
    """A state code: three letters A-Z, or D, Germany's one-letter code (Doc 9303 part 3).
    'UT<' is no code: it was taken as 'UT'."""
    if value != "D" and not (len(value) == 3 and value.isascii() and value.isalpha()
                             and value.isupper()):
        raise MRZError(f"MRZ {field} must be three letters A-Z (or D), got {value!r}", field)


def _check_date(field: str, value: str, *, unknown_allowed: bool) -> None:
    """A 'YYMMDD' date with a plausible month and day; '<<' parts only if allowed."""
    if len(value) != 6:
        raise MRZError(f"MRZ {field} must be YYMMDD, got {value!r}", field)
    parts = (value[0:2], value[2:4], value[4:6])
    for part in parts:
        if not ((part.isascii() and part.isdigit()) or (unknown_allowed and part == "<<")):
            raise MRZError(f"MRZ {field} must be YYMMDD digits, got {value!r}", field)
    month, day = parts[1], parts[2]
    if month.isdigit() and not 1 <= int(month) <= 12:
        raise MRZError(f"MRZ {field} has month {month}", field)
    if day.isdigit() and not 1 <= int(day) <= 31:
        raise MRZError(f"MRZ {field} has day {day}", field)


def _check_name(field: str, value: str) -> None:
    """A name part: words of A-Z separated by single spaces, or empty."""
    if value and _NAME_WORDS.fullmatch(value) is None:
        raise MRZError(f"MRZ {field} must be words of letters A-Z, got {value!r}", field)


def _check_filled(field: str, value: str, width: int) -> None:
    """A free field of MRZ characters without trailing filler, at most `width` long."""
    ok = _MRZ_CHARS.fullmatch(value) is not None and not value.endswith("<")
    if not ok:
        raise MRZError(f"MRZ {field} has characters outside A-Z, 0-9, '<': {value!r}", field)
    if len(value) > width:
        raise MRZError(f"MRZ {field} is longer than {width}: {value!r}", field)


def _validate(m: MRZ) -> None:
    """Raise MRZError unless every field of `m` fits its format."""
    if m.format not in FORMATS:
        raise MRZError(f"unknown MRZ format {m.format!r}")
    _check_code("document code", m.document_code, 1, 2)
    _require(not m.document_code.startswith("V"), "visa MRZs (document code V) are not supported")
    _check_state("issuing state", m.issuing_state)
    _check_state("nationality", m.nationality)
    _check_date("date of birth", m.date_of_birth, unknown_allowed=True)
    _check_date("date of expiry", m.date_of_expiry, unknown_allowed=False)
    if m.sex not in ("M", "F", "X"):
        raise MRZError(f"MRZ sex must be M, F or X, got {m.sex!r}", "sex")
    _check_name("surname", m.surname)
    _check_name("given names", m.given_names)
    _require(bool(m.surname or m.given_names), "MRZ name is empty")
    if len(_name_field(m.surname, m.given_names)) > _NAME_WIDTH[m.format]:
        raise MRZError(
            f"MRZ name does not fit the {_NAME_WIDTH[m.format]}-character {m.format} name field"
        )
    number = m.document_number
    _check_filled("document number", number, 9 if m.format == "TD3" else 64)
    _require(number != "", "MRZ document number is empty")
    width = _OPTIONAL_WIDTH[m.format]
    if len(number) > 9:
        _require(number.isalnum(), "a document number over 9 characters must be A-Z and 0-9")
        used = len(number) - 9 + 1 + (1 + len(m.optional_data) if m.optional_data else 0)
        if used > width:
            raise MRZError(f"document number {number!r} and optional data do not fit")
    if not number.isalnum():
        raise MRZError(f"MRZ document number has '<' inside: {number!r}", "document number")
    _check_filled("optional data", m.optional_data, width)
    _check_filled("optional data 2", m.optional_data_2, _OPTIONAL_2_WIDTH)
    if m.format != "TD1" and m.optional_data_2 != "":
        raise MRZError(f"{m.format} has no second optional data field")


# ---- composing ----------------------------------------------------------------------------


def _pad(value: str, width: int) -> str:
    """`value` right-padded with '<' to `width`."""
    return value + "<" * (width - len(value))


def _name_field(surname: str, given_names: str) -> str:
    """'SURNAME<<GIVEN<NAMES' without padding."""
    field = surname.replace(" ", "<")
    if given_names:
        field += "<<" + given_names.replace(" ", "<")
    return field


def _number_and_optional(m: MRZ) -> tuple[str, str]:
    """The 10-character number+check block and the optional-data field content."""
    number = m.document_number
    if len(number) <= 9:
        block = _pad(number, 9)
        return block + check_digit(block), m.optional_data
    overflow = number[9:] + check_digit(number)
    if m.optional_data:
        overflow += "<" + m.optional_data
    return number[:9] + "<", overflow


def _compose_lines(m: MRZ) -> tuple[str, ...]:
    """The lines of `m` with computed check digits (fields already validated)."""
    code = _pad(m.document_code, 2)
    state = _pad(m.issuing_state, 3)
    nat = _pad(m.nationality, 3)
    name = _pad(_name_field(m.surname, m.given_names), _NAME_WIDTH[m.format])
    dob = m.date_of_birth + check_digit(m.date_of_birth)
    exp = m.date_of_expiry + check_digit(m.date_of_expiry)
    sex = "<" if m.sex == "X" else m.sex
    block, optional = _number_and_optional(m)
    optional = _pad(optional, _OPTIONAL_WIDTH[m.format])
    if m.format == "TD1":
        line1 = code + state + block + optional
        head2 = dob + sex + exp + nat + _pad(m.optional_data_2, _OPTIONAL_2_WIDTH)
        composite = check_digit(line1[5:30] + head2[0:7] + head2[8:15] + head2[18:29])
        return line1, head2 + composite, name
    if m.format == "TD3":
        optional += "<" if m.optional_data == "" else check_digit(optional)
    head2 = block + nat + dob + sex + exp + optional
    composite = check_digit(head2[0:10] + head2[13:20] + head2[21:])
    return code + state + name, head2 + composite


def compose_mrz(
    format: MRZFormat,
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    nationality: str,
    date_of_birth: str,
    sex: str,
    date_of_expiry: str,
    surname: str,
    given_names: str,
    optional_data: str = "",
    optional_data_2: str = "",
) -> tuple[str, ...]:
    """Build valid MRZ lines (for fixtures and demos) from readable fields.

    Codes and numbers are upper-cased with fillers stripped; names are
    upper-cased, hyphens become spaces, apostrophes, dots and commas are dropped
    (Doc 9303 Part 3) and a name too long for its field is cut to fit.
    Names must already be in A-Z: transliterate first. Raises MRZError on any
    field that cannot be written.
    """
    _require(format in FORMATS, f"unknown MRZ format {format!r}")
    surname_text = _mrz_name(surname)
    given_text = _mrz_name(given_names)
    field = _name_field(surname_text, given_text)[: _NAME_WIDTH[format]]
    surname_text, given_text = _split_name(field)
    mrz = MRZ(
        format=format,
        document_code=_mrz_code(document_code),
        issuing_state=_mrz_code(issuing_state),
        document_number=_mrz_code(document_number),
        nationality=_mrz_code(nationality),
        date_of_birth=date_of_birth.strip(),
        sex=_mrz_code(sex) or "X",
        date_of_expiry=date_of_expiry.strip(),
        surname=surname_text,
        given_names=given_text,
        optional_data=_mrz_code(optional_data),
        optional_data_2=_mrz_code(optional_data_2),
    )
    return mrz.lines()


def _mrz_code(value: str) -> str:
    """Upper-case, drop surrounding whitespace and trailing fillers."""
    return value.strip().upper().rstrip("<")


def _mrz_name(value: str) -> str:
    """A readable name as MRZ words: 'Anna-Maria' -> 'ANNA MARIA'."""
    text = re.sub(r"['’.,]", "", value.upper())
    words = re.sub(r"[\s\-<]+", " ", text).split()
    return " ".join(words)


# ---- parsing ------------------------------------------------------------------------------


def _split_lines(data: str | Sequence[str]) -> list[str]:
    """Input as stripped non-empty lines; one unbroken 90/72/88-character string is split."""
    raw = data.splitlines() if isinstance(data, str) else list(data)
    lines = []
    for line in raw:
        if not isinstance(line, str):
            raise MRZError(f"MRZ lines must be strings, got {type(line).__name__}")
        if line.strip():
            lines.append(line.strip())
    if len(lines) == 1:
        for count, width in FORMATS.values():
            if len(lines[0]) == count * width:
                return [lines[0][i : i + width] for i in range(0, count * width, width)]
    return lines


def _detect_format(lines: list[str]) -> MRZFormat:
    """The format matching the number and length of `lines`, or MRZError."""
    for fmt, (count, width) in FORMATS.items():
        if len(lines) == count and all(len(line) == width for line in lines):
            return fmt
    lengths = ", ".join(str(len(line)) for line in lines) or "none"
    raise MRZError(
        "MRZ must be 3 lines of 30 (TD1), 2 of 36 (TD2) or 2 of 44 (TD3); "
        f"got line lengths {lengths}"
    )


def _split_name(field: str) -> tuple[str, str]:
    """'ERIKSSON<<ANNA<MARIA<<<' -> ('ERIKSSON', 'ANNA MARIA')."""
    surname, _, given = field.partition("<<")
    return " ".join(surname.replace("<", " ").split()), " ".join(given.replace("<", " ").split())


def _document_number(first9: str, found: str, optional: str) -> tuple[str, str]:
    """Verify the document number (TD1/TD2 long form included); return (number, optional)."""
    if found != "<":
        _verify("document number", first9, found)
        return first9.rstrip("<"), optional
    head = optional.split("<", 1)[0]
    _require(
        len(head) >= 2 and "<" not in first9,
        "MRZ document number check digit is '<' but optional data holds no number overflow "
        "and check digit",
    )
    number = first9 + head[:-1]
    _verify("document number", number, head[-1])
    return number, optional[len(head) + 1 :]


def _sex(char: str) -> str:
    """MRZ sex character to 'M', 'F' or 'X'."""
    if char not in ("M", "F", "X", "<"):
        raise MRZError(f"MRZ sex must be M, F, X or '<', got {char!r}", "sex")
    return "X" if char == "<" else char


def parse_mrz(data: str | Sequence[str]) -> MRZ:
    """Parse and verify an MRZ given as one string (lines split by newlines) or a list of lines.

    Every check digit is verified: document number, date of birth, date of
    expiry, TD3 personal number, and the composite. Raises MRZCheckDigitError
    (an MRZError naming the field) on a wrong check digit and MRZError on
    any other defect.
    """
    lines = _split_lines(data)
    fmt = _detect_format(lines)
    for number, line in enumerate(lines, 1):
        if _MRZ_CHARS.fullmatch(line) is None:
            bad = sorted(set(line) - set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"))
            raise MRZError(f"MRZ line {number} has characters outside A-Z, 0-9, '<': {bad}")
    _require(lines[0][0] != "V", "visa MRZs (document code V) are not supported")
    if fmt == "TD1":
        return _parse_td1(lines)
    return _parse_two_line(fmt, lines)


def _parse_td1(lines: list[str]) -> MRZ:
    """Parse a verified-shape TD1 (3 x 30)."""
    l1, l2, l3 = lines
    number, optional = _document_number(l1[5:14], l1[14], l1[15:30])
    _verify("date of birth", l2[0:6], l2[6])
    _verify("date of expiry", l2[8:14], l2[14])
    _verify("composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = _split_name(l3)
    return MRZ(
        format="TD1",
        document_code=l1[0:2].rstrip("<"),
        issuing_state=l1[2:5].rstrip("<"),
        document_number=number,
        nationality=l2[15:18].rstrip("<"),
        date_of_birth=l2[0:6],
        sex=_sex(l2[7]),
        date_of_expiry=l2[8:14],
        surname=surname,
        given_names=given,
        optional_data=optional.rstrip("<"),
        optional_data_2=l2[18:29].rstrip("<"),
    )


def _parse_two_line(fmt: MRZFormat, lines: list[str]) -> MRZ:
    """Parse a verified-shape TD2 (2 x 36) or TD3 (2 x 44)."""
    l1, l2 = lines
    end = len(l2) - 1  # the composite check digit's position
    if fmt == "TD3":
        _require(l2[9] != "<", "MRZ document number check digit is '<' (not allowed in TD3)")
        number, optional = _document_number(l2[0:9], l2[9], l2[28:42])
    else:
        number, optional = _document_number(l2[0:9], l2[9], l2[28:35])
    _verify("date of birth", l2[13:19], l2[19])
    _verify("date of expiry", l2[21:27], l2[27])
    if fmt == "TD3":
        _verify("optional data", l2[28:42], l2[42], filler_if_empty=True)
    _verify("composite", l2[0:10] + l2[13:20] + l2[21:end], l2[end])
    surname, given = _split_name(l1[5:])
    return MRZ(
        format=fmt,
        document_code=l1[0:2].rstrip("<"),
        issuing_state=l1[2:5].rstrip("<"),
        document_number=number,
        nationality=l2[10:13].rstrip("<"),
        date_of_birth=l2[13:19],
        sex=_sex(l2[20]),
        date_of_expiry=l2[21:27],
        surname=surname,
        given_names=given,
        optional_data=optional.rstrip("<"),
    )

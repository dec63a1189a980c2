"""ISO 3779 vehicle identification numbers: shape, region and check digit.

A VIN is 17 characters from 0-9 and A-Z without I, O and Q (too easily read as
1 and 0). Positions 1-3 are the world manufacturer identifier (WMI); its first
character gives the region (ISO 3780). Position 9 is a check digit: each
character is transliterated to a number (digits as themselves; A-H = 1-8,
J-N = 1-5, P = 7, R = 9, S-Z = 2-9), multiplied by the position weights
8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, summed, and taken modulo 11 (10 is 'X').

The check digit is mandatory in North America (49 CFR 565; WMI starting 1-5),
so there a wrong one is rejected. Elsewhere many manufacturers put other data
in position 9, so a mismatch is reported as a warning, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from noticenet.protocol.errors import VINError

VIN_LENGTH = 17
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_LETTER_VALUES = dict(
    zip("ABCDEFGHJKLMNPRSTUVWXYZ", "12345678123457923456789", strict=True)
)
_REGIONS = (
    ("ABCDEFGH", "Africa"),
    ("JKLMNPR", "Asia"),
    ("STUVWXYZ", "Europe"),
    ("12345", "North America"),
    ("67", "Oceania"),
    ("890", "South America"),
)


@dataclass(frozen=True)
class VinCheck:
    """The outcome of validating a well-formed VIN.

    `vin` is the normalised form (upper case, spaces and hyphens removed),
    `wmi` its first three characters, `region` the ISO 3780 region of the
    WMI, and `warnings` explains anything suspicious that was not fatal.
    """

    vin: str
    wmi: str
    region: str
    check_digit_valid: bool
    warnings: tuple[str, ...] = ()


_VALUES = {**{d: int(d) for d in "0123456789"}, **{c: int(v) for c, v in _LETTER_VALUES.items()}}
"""The ISO 3779 transliterated value of each allowed VIN character."""
_ALLOWED = frozenset(_VALUES)


def vin_check_digit(vin: str) -> str:
    """The check digit ('0'-'9' or 'X') due in position 9 of a well-formed VIN.

    Position 9 itself has weight 0, so whatever it holds does not matter.
    """
    vin = _normalise(vin)
    _check_shape(vin)
    return _check_digit(vin)


def _check_digit(vin: str) -> str:
    """`vin_check_digit` of a VIN already normalised and of the right shape."""
    remainder = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def region_of(wmi: str) -> str:
    """The ISO 3780 region for a WMI's first character."""
    for chars, region in _REGIONS:
        if wmi[:1] != "" and wmi[0] in chars:
            return region
    raise VINError(f"no region for WMI {wmi!r}")


def is_north_american(vin: str) -> bool:
    """True when the WMI is North American (first character 1-5): check digit mandatory."""
    return vin[:1] != "" and vin[0] in "12345"


def _normalise(vin: str) -> str:
    """Upper-case, drop surrounding whitespace and inner spaces or hyphens."""
    if not isinstance(vin, str):
        raise VINError(f"a VIN must be a string, got {type(vin).__name__}")
    return "".join(vin.split()).replace("-", "").upper()


def _check_shape(vin: str) -> None:
    """Raise VINError unless `vin` is 17 allowed characters."""
    if len(vin) != VIN_LENGTH:
        raise VINError(f"a VIN has {VIN_LENGTH} characters, got {len(vin)}: {vin!r}")
    bad = sorted(set(vin) - _ALLOWED)
    if bad:
        extra = " (I, O and Q are never used)" if set(bad) & set("IOQ") else ""
        raise VINError(f"VIN {vin!r} has characters not allowed in a VIN: {bad}{extra}")


def validate_vin(vin: str) -> VinCheck:
    """Validate `vin`; raise VINError if malformed or if a North American check digit is wrong.

    Outside North America a wrong or absent check digit only sets
    `check_digit_valid=False` and adds a warning.
    """
    norm = _normalise(vin)
    _check_shape(norm)
    expected = _check_digit(norm)
    found = norm[8]
    valid = found == expected
    warnings: list[str] = []
    if not valid:
        message = f"VIN {norm!r} check digit is {found!r}, expected {expected!r}"
        if is_north_american(norm):
            raise VINError(message + " (mandatory for North American VINs)")
        warnings.append(message + " (not mandatory outside North America)")
    if is_north_american(norm) and norm[9] in "UZ0":
        warnings.append(f"VIN {norm!r} position 10 {norm[9]!r} is not a valid model-year code")
    return VinCheck(
        vin=norm,
        wmi=norm[:3],
        region=region_of(norm),
        check_digit_valid=valid,
        warnings=tuple(warnings),
    )

"""ISO 3779 VIN validation: shape, region, check digit mandatory only in North America."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.protocol.errors import SchemaError, VINError
from noticenet.protocol.identifiers.vin import (
    VinCheck,
    is_north_american,
    region_of,
    validate_vin,
    vin_check_digit,
)

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def _with_check_digit(vin: str) -> str:
    """`vin` with position 9 set to its correct check digit."""
    return vin[:8] + vin_check_digit(vin) + vin[9:]


@pytest.mark.parametrize(
    "vin,wmi,region",
    [
        ("1M8GDM9AXKP042788", "1M8", "North America"),  # the classic example, check digit X
        ("11111111111111111", "111", "North America"),
        ("1HGCM82633A004352", "1HG", "North America"),  # Honda Accord
        ("JH4KA7561PC008269", "JH4", "Asia"),  # Acura Legend
    ],
)
def test_real_valid_vins(vin: str, wmi: str, region: str) -> None:
    assert validate_vin(vin) == VinCheck(
        vin=vin, wmi=wmi, region=region, check_digit_valid=True, warnings=()
    )


def test_check_digit_values() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("11111111111111111") == "1"
    assert vin_check_digit("1M8GDM9A0KP042788") == "X"  # position 9 has weight 0


@pytest.mark.parametrize(
    "raw",
    [" 1m8gdm9axkp042788 ", "1M8-GDM9AX-KP042788", "1M8 GDM 9AX KP0 427 88", "1M8GDM9AXKP042788\n"],
)
def test_normalisation(raw: str) -> None:
    assert validate_vin(raw).vin == "1M8GDM9AXKP042788"


@pytest.mark.parametrize("vin", ["", "1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "1" * 30])
def test_wrong_length_is_rejected(vin: str) -> None:
    with pytest.raises(VINError, match="17 characters"):
        validate_vin(vin)


@pytest.mark.parametrize("char", ["I", "O", "Q", "i", "o", "q"])
def test_i_o_q_are_rejected(char: str) -> None:
    vin = "1M8GDM9AXKP04278" + char
    with pytest.raises(VINError, match="I, O and Q"):
        validate_vin(vin)


@pytest.mark.parametrize("char", ["*", "_", ".", "Ä", "١"])
def test_other_characters_are_rejected(char: str) -> None:
    with pytest.raises(VINError, match="not allowed"):
        validate_vin("1M8GDM9AXKP04278" + char)


def test_non_string_is_rejected() -> None:
    with pytest.raises(VINError):
        validate_vin(12345678901234567)  # type: ignore[arg-type]


def test_north_american_bad_check_digit_is_rejected() -> None:
    with pytest.raises(VINError, match="mandatory") as info:
        validate_vin("1M8GDM9A1KP042788")
    assert isinstance(info.value, SchemaError)
    assert "'X'" in str(info.value)


@pytest.mark.parametrize("vin", ["WVWZZZ1JZXW000001", "VF1RFB00X56012345", "SALVA2AE4EH877482"])
def test_european_bad_check_digit_is_a_warning(vin: str) -> None:
    check = validate_vin(vin)
    assert check.check_digit_valid is False
    assert check.region == "Europe"
    assert check.wmi == vin[:3]
    assert len(check.warnings) == 1
    assert "check digit" in check.warnings[0] and "not mandatory" in check.warnings[0]


def test_european_good_check_digit_has_no_warning() -> None:
    vin = _with_check_digit("WVWZZZ1JZXW000001")
    assert vin == "WVWZZZ1J0XW000001"
    check = validate_vin(vin)
    assert check.check_digit_valid and check.warnings == ()


@pytest.mark.parametrize(
    "first,region",
    [
        ("A", "Africa"), ("H", "Africa"), ("J", "Asia"), ("R", "Asia"), ("S", "Europe"),
        ("Z", "Europe"), ("1", "North America"), ("5", "North America"), ("6", "Oceania"),
        ("7", "Oceania"), ("8", "South America"), ("9", "South America"), ("0", "South America"),
    ],
)
def test_regions(first: str, region: str) -> None:
    vin = _with_check_digit(first + "BCDEFGH1JKLMNPRST"[1:])
    assert region_of(vin) == region
    assert validate_vin(vin).region == region
    assert is_north_american(vin) == (region == "North America")


def test_region_of_empty_wmi() -> None:
    with pytest.raises(VINError):
        region_of("")


def test_north_american_model_year_warning() -> None:
    vin = _with_check_digit("1M8GDM9AXUP042788")
    check = validate_vin(vin)
    assert check.check_digit_valid
    assert check.warnings and "model-year" in check.warnings[0]


vins = st.text(alphabet=VIN_CHARS, min_size=17, max_size=17)


@given(vins)
@settings(max_examples=300)
def test_correct_check_digit_always_validates(raw: str) -> None:
    vin = _with_check_digit(raw)
    check = validate_vin(vin)
    assert check.check_digit_valid and check.vin == vin and check.wmi == vin[:3]


@given(vins, st.data())
@settings(max_examples=300)
def test_any_single_substitution_is_detected(raw: str, data: st.DataObject) -> None:
    north_american = _with_check_digit("1" + raw[1:])
    european = _with_check_digit("W" + raw[1:])
    pos = data.draw(st.sampled_from([i for i in range(1, 17) if i != 8]))
    new = data.draw(st.sampled_from(VIN_CHARS))
    value_kept = vin_check_digit(north_american[:pos] + new + north_american[pos + 1 :]) == (
        vin_check_digit(north_american)
    )
    for vin in (north_american, european):
        changed = vin[:pos] + new + vin[pos + 1 :]
        if value_kept:
            # Only a character of equal transliterated value (A and J, say) goes unnoticed.
            assert validate_vin(changed).check_digit_valid
        elif vin is north_american:
            with pytest.raises(VINError, match="check digit"):
                validate_vin(changed)
        else:
            check = validate_vin(changed)
            assert not check.check_digit_valid and len(check.warnings) == 1

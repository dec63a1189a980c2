"""ICAO 9303 MRZ parsing, check digits and composing, on the ICAO specimens."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.protocol.errors import MRZError, SchemaError
from noticenet.protocol.identifiers.mrz import (
    MRZ,
    MRZCheckDigitError,
    check_digit,
    compose_mrz,
    parse_mrz,
    resolve_century,
)

# ICAO Doc 9303 Part 4 (TD3), Part 5 (TD1) and Part 6 (TD2) specimens.
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
# Doc 9303 Part 11, Appendix D.2: 12-character document number D23145890734.
TD1_LONG = (
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
)
TD2_LONG = ("I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<", "D23145890<UTO3407127M95071227349<<<8")

SPECIMENS = {"TD3": TD3, "TD1": TD1, "TD2": TD2, "TD1_LONG": TD1_LONG, "TD2_LONG": TD2_LONG}


def test_td3_specimen_fields() -> None:
    m = parse_mrz(TD3)
    assert m == MRZ(
        format="TD3",
        document_code="P",
        issuing_state="UTO",
        document_number="L898902C3",
        nationality="UTO",
        date_of_birth="740812",
        sex="F",
        date_of_expiry="120415",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        optional_data="ZE184226B",
    )


@pytest.mark.parametrize("lines", [TD1, TD2], ids=["TD1", "TD2"])
def test_td1_td2_specimen_fields(lines: tuple[str, ...]) -> None:
    m = parse_mrz(lines)
    assert m.format == ("TD1" if len(lines) == 3 else "TD2")
    assert (m.document_code, m.issuing_state, m.nationality) == ("I", "UTO", "UTO")
    assert m.document_number == "D23145890"
    assert (m.date_of_birth, m.sex, m.date_of_expiry) == ("740812", "F", "120415")
    assert (m.surname, m.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (m.optional_data, m.optional_data_2) == ("", "")


@pytest.mark.parametrize("lines", [TD1_LONG, TD2_LONG], ids=["TD1", "TD2"])
def test_long_document_number_overflows_into_optional_data(lines: tuple[str, ...]) -> None:
    m = parse_mrz(lines)
    assert m.document_number == "D23145890734"
    assert m.optional_data == ""
    assert (m.surname, m.given_names, m.sex) == ("STEVENSON", "PETER JOHN", "M")
    assert m.birth_date(2024) == "1934-07-12"
    assert m.expiry_date(2024) == "1995-07-12"


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_specimens_round_trip(name: str) -> None:
    lines = SPECIMENS[name]
    assert parse_mrz(lines).lines() == lines


@pytest.mark.parametrize(
    "data",
    [
        list(TD3),
        "\n".join(TD3),
        "\r\n".join(TD3) + "\r\n",
        "  " + TD3[0] + "  \n\n\t" + TD3[1] + "\n",
        "".join(TD3),
        ["", TD3[0] + " ", " " + TD3[1]],
    ],
    ids=["list", "newlines", "crlf", "whitespace", "unbroken", "padded-list"],
)
def test_input_forms(data: str | list[str]) -> None:
    assert parse_mrz(data) == parse_mrz(TD3)


def test_check_digit_values() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("D23145890734") == "9"
    assert check_digit("") == "0"
    assert check_digit("<<<<") == "0"
    assert check_digit("A") == "0"  # 10 * 7 = 70
    assert check_digit("Z") == "5"  # 35 * 7 = 245


@pytest.mark.parametrize("bad", ["a", " ", "É", "-", "1.2"])
def test_check_digit_rejects_non_mrz_characters(bad: str) -> None:
    with pytest.raises(MRZError):
        check_digit(bad)


# (specimen, line index, column, field named in the error)
CHECK_POSITIONS = [
    ("TD3", 1, 9, "document number"),
    ("TD3", 1, 19, "date of birth"),
    ("TD3", 1, 27, "date of expiry"),
    ("TD3", 1, 42, "optional data"),
    ("TD3", 1, 43, "composite"),
    ("TD1", 0, 14, "document number"),
    ("TD1", 1, 6, "date of birth"),
    ("TD1", 1, 14, "date of expiry"),
    ("TD1", 1, 29, "composite"),
    ("TD2", 1, 9, "document number"),
    ("TD2", 1, 19, "date of birth"),
    ("TD2", 1, 27, "date of expiry"),
    ("TD2", 1, 35, "composite"),
    ("TD1_LONG", 0, 18, "document number"),
    ("TD1_LONG", 1, 6, "date of birth"),
    ("TD1_LONG", 1, 14, "date of expiry"),
    ("TD1_LONG", 1, 29, "composite"),
    ("TD2_LONG", 1, 31, "document number"),
    ("TD2_LONG", 1, 19, "date of birth"),
    ("TD2_LONG", 1, 27, "date of expiry"),
    ("TD2_LONG", 1, 35, "composite"),
]


def _replace(lines: tuple[str, ...], row: int, col: int, char: str) -> list[str]:
    """`lines` with one character replaced."""
    out = list(lines)
    out[row] = out[row][:col] + char + out[row][col + 1 :]
    return out


@pytest.mark.parametrize("name,row,col,field", CHECK_POSITIONS)
@pytest.mark.parametrize("delta", range(1, 10))
def test_every_flipped_check_digit_is_named(
    name: str, row: int, col: int, field: str, delta: int
) -> None:
    lines = SPECIMENS[name]
    digit = lines[row][col]
    flipped = str((int(digit) + delta) % 10)
    with pytest.raises(MRZCheckDigitError) as info:
        parse_mrz(_replace(lines, row, col, flipped))
    assert info.value.field == field
    assert field in str(info.value)
    assert info.value.found == flipped and info.value.expected == digit
    assert isinstance(info.value, MRZError) and isinstance(info.value, SchemaError)


@pytest.mark.parametrize("name,row,col,field", CHECK_POSITIONS)
def test_letter_in_check_digit_position_is_rejected(
    name: str, row: int, col: int, field: str
) -> None:
    with pytest.raises(MRZError, match=field):
        parse_mrz(_replace(SPECIMENS[name], row, col, "A"))


@pytest.mark.parametrize(
    "col,field",
    [(3, "document number"), (15, "date of birth"), (24, "date of expiry"), (30, "optional data")],
)
@pytest.mark.parametrize("delta", range(1, 10))
def test_changed_digit_in_a_field_fails_that_fields_check(col: int, field: str, delta: int) -> None:
    new = str((int(TD3[1][col]) + delta) % 10)
    with pytest.raises(MRZCheckDigitError) as info:
        parse_mrz(_replace(TD3, 1, col, new))
    assert info.value.field == field


def test_fields_without_check_digits_are_not_verified() -> None:
    # Doc 9303 covers neither the name, the sex nor the nationality with a check digit.
    assert parse_mrz(_replace(TD3, 0, 6, "X")).surname == "EXIKSSON"
    assert parse_mrz(_replace(TD3, 1, 20, "M")).sex == "M"
    assert parse_mrz(_replace(TD3, 1, 10, "X")).nationality == "XTO"


def test_td3_empty_personal_number_check_may_be_filler_or_zero() -> None:
    lines = compose_mrz(
        "TD3", document_code="P", issuing_state="UTO", document_number="L898902C3",
        nationality="UTO", date_of_birth="740812", sex="F", date_of_expiry="120415",
        surname="Eriksson", given_names="Anna Maria",
    )
    assert lines[1][28:43] == "<" * 15
    zero = _replace(lines, 1, 42, "0")
    assert parse_mrz(lines) == parse_mrz(zero)
    with pytest.raises(MRZCheckDigitError, match="optional data"):
        parse_mrz(_replace(lines, 1, 42, "1"))


@pytest.mark.parametrize(
    "data",
    [
        "",
        [],
        [TD3[0]],
        [TD3[0][:-1], TD3[1][:-1]],
        [TD3[0] + "<", TD3[1] + "<"],
        [TD1[0], TD1[1]],
        [*TD1, TD1[2]],
        [TD3[0], TD2[1]],
        [TD1[0], TD1[1], TD1[2][:-1]],
    ],
    ids=["empty", "no-lines", "one-line", "43", "45", "td1-2-lines", "4-lines", "mixed",
         "td1-short-line"],
)
def test_wrong_shapes_are_rejected(data: str | list[str]) -> None:
    with pytest.raises(MRZError, match="lines of"):
        parse_mrz(data)


@pytest.mark.parametrize("char", ["p", " ", "#", "Ö", "-", "«"])
def test_wrong_characters_are_rejected(char: str) -> None:
    with pytest.raises(MRZError, match="characters outside"):
        parse_mrz(_replace(TD3, 0, 10, char))


def test_non_string_line_is_rejected() -> None:
    with pytest.raises(MRZError):
        parse_mrz([TD3[0], 42])  # type: ignore[list-item]


def test_visa_is_rejected() -> None:
    with pytest.raises(MRZError, match="visa"):
        parse_mrz(_replace(TD3, 0, 0, "V"))


def test_td3_filler_document_number_check_is_rejected() -> None:
    with pytest.raises(MRZError, match="TD3"):
        parse_mrz(_replace(TD3, 1, 9, "<"))


def test_td1_filler_check_without_overflow_is_rejected() -> None:
    with pytest.raises(MRZError, match="overflow"):
        parse_mrz(_replace(TD1, 0, 14, "<"))


def test_invalid_sex_is_rejected() -> None:
    with pytest.raises(MRZError, match="sex"):
        parse_mrz(_replace(TD3, 1, 20, "Q"))


def test_unspecified_sex_reads_as_x_and_writes_filler() -> None:
    m = parse_mrz(_replace(TD3, 1, 20, "<"))
    assert m.sex == "X"
    assert m.lines()[1][20] == "<"
    assert parse_mrz(_replace(TD3, 1, 20, "X")).sex == "X"


def _td3_line2(number: str, dob: str, exp: str) -> str:
    """A TD3 line 2 for UTO/F with correct check digits, built independently of the composer."""
    num = number.ljust(9, "<")
    pn = "<" * 14
    head = num + check_digit(num) + "UTO" + dob + check_digit(dob) + "F" + exp + check_digit(exp)
    body = head + pn + "<"
    return body + check_digit(body[0:10] + body[13:20] + body[21:43])


@pytest.mark.parametrize(
    "dob,exp,message",
    [("741312", "120415", "month"), ("740832", "120415", "day"), ("740812", "12<<15", "expiry"),
     ("7408AB", "120415", "birth"), ("740800", "120415", "day")],
)
def test_impossible_dates_with_valid_check_digits_are_rejected(
    dob: str, exp: str, message: str
) -> None:
    with pytest.raises(MRZError, match=message):
        parse_mrz([TD3[0], _td3_line2("L898902C3", dob, exp)])


def test_unknown_birth_date_parts() -> None:
    m = parse_mrz([TD3[0], _td3_line2("L898902C3", "74<<<<", "120415")])
    assert m.date_of_birth == "74<<<<"
    assert m.birth_date(2024) == "1974"
    m = parse_mrz([TD3[0], _td3_line2("L898902C3", "<<<<<<", "120415")])
    assert m.birth_date(2024) is None


@pytest.mark.parametrize(
    "yymmdd,ref,ahead,expected",
    [
        ("740812", 2024, 0, "1974-08-12"),
        ("240101", 2024, 0, "2024-01-01"),
        ("250101", 2024, 0, "1925-01-01"),
        ("000229", 2024, 0, "2000-02-29"),
        ("120415", 2024, 20, "2012-04-15"),
        ("440101", 2024, 20, "2044-01-01"),
        ("450101", 2024, 20, "1945-01-01"),
        ("7408<<", 2024, 0, "1974-08"),
        ("74<<<<", 1980, 0, "1974"),
        ("<<<<<<", 2024, 0, None),
        ("7408", 2024, 0, None),
    ],
)
def test_resolve_century(yymmdd: str, ref: int, ahead: int, expected: str | None) -> None:
    assert resolve_century(yymmdd, ref, max_years_ahead=ahead) == expected


def test_mrz_is_frozen() -> None:
    m = parse_mrz(TD3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.surname = "X"  # type: ignore[misc]


def test_compose_reproduces_specimens() -> None:
    fields = dict(
        document_code="I", issuing_state="UTO", nationality="UTO", date_of_birth="740812",
        sex="F", date_of_expiry="120415", surname="Eriksson", given_names="Anna-Maria",
    )
    assert compose_mrz("TD1", document_number="D23145890", **fields) == TD1
    assert compose_mrz("TD2", document_number="d23145890", **fields) == TD2
    long = dict(fields, date_of_birth="340712", sex="m", date_of_expiry="950712",
                surname="Stevenson", given_names="Peter John")
    assert compose_mrz("TD1", document_number="D23145890734", **long) == TD1_LONG
    assert compose_mrz("TD2", document_number="D23145890734", **long) == TD2_LONG
    assert compose_mrz(
        "TD3", document_code="P", issuing_state="UTO", document_number="L898902C3",
        nationality="UTO", date_of_birth="740812", sex="F", date_of_expiry="120415",
        surname="ERIKSSON", given_names="ANNA MARIA", optional_data="ZE184226B",
    ) == TD3


def _compose(fmt: str = "TD1", **overrides: str) -> tuple[str, ...]:
    fields = dict(
        document_code="ID", issuing_state="D", document_number="T22000129",
        nationality="D", date_of_birth="640812", sex="F", date_of_expiry="231031",
        surname="Mustermann", given_names="Erika",
    )
    fields.update(overrides)
    return compose_mrz(fmt, **fields)  # type: ignore[arg-type]


def test_compose_names_and_codes() -> None:
    lines = _compose(surname="d'Artagnan-Muller", given_names="Jean  Paul")
    assert lines[2].startswith("DARTAGNAN<MULLER<<JEAN<PAUL<")
    assert lines[0].startswith("IDD<<T22000129")
    m = parse_mrz(lines)
    assert (m.issuing_state, m.nationality, m.document_code) == ("D", "D", "ID")
    assert (m.surname, m.given_names) == ("DARTAGNAN MULLER", "JEAN PAUL")


def test_compose_truncates_long_names() -> None:
    lines = _compose(surname="Wolfeschlegelsteinhausenbergerdorff", given_names="Hubert Blaine")
    assert len(lines[2]) == 30
    m = parse_mrz(lines)
    assert m.surname == "WOLFESCHLEGELSTEINHAUSENBERGER" and m.given_names == ""


def test_compose_long_number_with_optional_data() -> None:
    lines = _compose(document_number="AB1234567890", optional_data="XY12")
    assert lines[0][5:30] == "AB1234567<890" + check_digit("AB1234567890") + "<XY12" + "<" * 6
    m = parse_mrz(lines)
    assert (m.document_number, m.optional_data) == ("AB1234567890", "XY12")


@pytest.mark.parametrize(
    "fmt,overrides,message",
    [
        ("TD3", {"document_number": "AB1234567890"}, "document number"),
        ("TD2", {"document_number": "AB1234567890", "optional_data": "XYZ"}, "do not fit"),
        ("TD1", {"document_number": "A" * 24}, "do not fit"),
        ("TD1", {"document_number": "AB123456<7890"}, "over 9"),
        ("TD1", {"document_number": ""}, "empty"),
        ("TD1", {"sex": "Q"}, "sex"),
        ("TD1", {"date_of_birth": "741301"}, "month"),
        ("TD1", {"date_of_expiry": "7413"}, "YYMMDD"),
        ("TD1", {"surname": "Müller2"}, "surname"),
        ("TD1", {"surname": "", "given_names": ""}, "name is empty"),
        ("TD1", {"given_names": "Иван"}, "given names"),
        ("TD1", {"issuing_state": "UTOP"}, "issuing state"),
        ("TD1", {"nationality": "U1O"}, "nationality"),
        ("TD1", {"document_code": "V"}, "visa"),
        ("TD1", {"optional_data": "A" * 16}, "longer"),
        ("TD1", {"optional_data_2": "a-b"}, "optional data 2"),
        ("TD2", {"optional_data_2": "AB"}, "no second"),
        ("TD4", {}, "format"),
    ],
)
def test_compose_rejects_unwritable_fields(
    fmt: str, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(MRZError, match=message):
        _compose(fmt, **overrides)


WORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@st.composite
def mrz_fields(draw: st.DrawFn) -> MRZ:
    """Random valid MRZ field sets of every format, long document numbers included."""
    fmt = draw(st.sampled_from(["TD1", "TD2", "TD3"]))
    short = fmt == "TD3" or draw(st.booleans())
    number = draw(st.text(alphabet=ALNUM, min_size=1, max_size=9 if short else 13))
    room = {"TD1": 15, "TD2": 7, "TD3": 14}[fmt]
    if len(number) > 9:
        room = max(0, room - (len(number) - 9) - 2)
    optional = draw(st.text(alphabet=ALNUM + "<", max_size=room).map(lambda s: s.rstrip("<")))
    birth = draw(st.dates()).strftime("%y%m%d")
    return MRZ(
        format=fmt,
        document_code=draw(st.sampled_from(["P", "PD", "I", "ID", "AC", "C"])),
        issuing_state=draw(
            st.just("D") | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
        ),
        document_number=number,
        nationality=draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)),
        date_of_birth=draw(st.sampled_from([birth, birth[:4] + "<<", "<<<<<<"])),
        sex=draw(st.sampled_from(["M", "F", "X"])),
        date_of_expiry=draw(st.dates()).strftime("%y%m%d"),
        surname=" ".join(draw(st.lists(WORD, min_size=1, max_size=2))),
        given_names=" ".join(draw(st.lists(WORD, max_size=2))),
        optional_data=optional,
        optional_data_2=draw(st.text(alphabet=ALNUM, max_size=11)) if fmt == "TD1" else "",
    )


@given(mrz_fields())
@settings(max_examples=300)
def test_compose_parse_round_trip(m: MRZ) -> None:
    lines = m.lines()
    assert len(lines) == (3 if m.format == "TD1" else 2)
    assert all(len(line) == len(lines[0]) for line in lines)
    assert parse_mrz(lines) == m
    assert parse_mrz("\n".join(lines)) == m


@given(mrz_fields(), st.data())
@settings(max_examples=300)
def test_any_changed_date_digit_is_caught(m: MRZ, data: st.DataObject) -> None:
    lines = m.lines()
    row = 1
    cols = list(range(8, 14)) if m.format == "TD1" else list(range(21, 27))
    col = data.draw(st.sampled_from(cols))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != lines[row][col]]))
    with pytest.raises(MRZError):
        parse_mrz(_replace(lines, row, col, new))


# -- every defect names its field ---------------------------------------------------------


def td3_with(start: int, value: str, check_at: int | None = None) -> list[str]:
    """The TD3 specimen with `value` written at `start` of line 2, its field's check digit
    (at `check_at`) and the composite recomputed, so only the rule under test is broken."""
    line = TD3[1][:start] + value + TD3[1][start + len(value) :]
    if check_at is not None:
        field = line[check_at - (9 if check_at == 9 else 6) : check_at]
        line = line[:check_at] + check_digit(field) + line[check_at + 1 :]
    composite = line[0:10] + line[13:20] + line[21:43]
    return [TD3[0], line[:43] + check_digit(composite)]


@pytest.mark.parametrize(
    ("lines", "field", "says"),
    [
        (td3_with(13, "741312", check_at=19), "date of birth", "month 13"),
        (td3_with(13, "740832", check_at=19), "date of birth", "day 32"),
        (td3_with(10, "UT<"), "nationality", "three letters A-Z (or D), got 'UT'"),
        (td3_with(0, "L89<902C3", check_at=9), "document number", "'<' inside"),
    ],
    ids=["birth-month", "birth-day", "two-letter-nationality", "filler-inside-number"],
)
def test_a_defect_names_its_field(lines: list[str], field: str, says: str) -> None:
    with pytest.raises(MRZError) as raised:
        parse_mrz(lines)
    assert raised.value.field == field
    assert says in str(raised.value)


def test_germany_s_one_letter_code_is_a_state() -> None:
    """D<< is Germany's code in an MRZ; it is the only state code shorter than three."""
    parsed = parse_mrz(td3_with(10, "D<<"))
    assert parsed.nationality == "D"

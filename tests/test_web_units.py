"""The web pages' parts without a browser: catalogues, error placement, sessions."""

from __future__ import annotations

import re

import pytest

from noticenet.crypto.errors import NoticenetError
from noticenet.node.api.records import parse_record
from noticenet.node.web import errors as web_errors
from noticenet.node.web import forms
from noticenet.node.web.errors import request_errors, said, shown
from noticenet.node.web.i18n import CATALOGUES, DIRECTION, choose, translator
from noticenet.node.web.sessions import Sessions, cookie_value, csrf_ok
from noticenet.protocol.errors import MRZError, ReentryBlocked, SchemaError
from noticenet.protocol.identifiers.mrz import compose_mrz, parse_mrz


def test_every_language_has_every_message_and_a_direction() -> None:
    keys = set(CATALOGUES["en"])
    for lang, catalogue in CATALOGUES.items():
        assert set(catalogue) == keys, lang
        assert DIRECTION[lang] in ("ltr", "rtl")
    assert translator("fr")("result.contact.text", author="DEU", id="ab").startswith("le Bureau")
    assert choose(None, "fr-CH,fr;q=0.9,en;q=0.5") == "fr"
    assert choose("en", "fr") == "en" and choose("xx", "de") == "en"


@pytest.mark.parametrize(
    ("form", "where"),
    [
        ({"subject.name": "X", "subject.place_of_birth": "a" * 201}, "subject.place_of_birth"),
        ({"subject.name": ""}, "subject.name"),
        ({"subject.name": "X", "subject.sex": "Q"}, "subject.sex"),
        ({"subject.name": "X", "subject.nationalities": "FRA QQ"}, "subject.nationalities"),
    ],
)
def test_a_red_notice_error_lands_on_its_field(form: dict[str, str], where: str) -> None:
    with pytest.raises(SchemaError) as refused:
        parse_record("notice.red", forms.red_record(form))
    assert forms.field_of(str(refused.value), "notice.red", forms.RED_FIELDS) == where


def test_an_sltd_error_lands_on_its_field() -> None:
    bad = {"document_number": "", "document_type": "P", "issuing_country": "FRA"}
    with pytest.raises(SchemaError) as refused:
        parse_record("sltd", forms.sltd_record({**bad, "status": "stolen"}))
    assert forms.field_of(str(refused.value), "sltd", forms.SLTD_FIELDS) == "document_number"
    assert forms.field_of("something else went wrong", "sltd", forms.SLTD_FIELDS) == "_form"


def test_sessions_expire_and_sign_in_changes_the_id() -> None:
    now = [0.0]
    sessions = Sessions(clock=lambda: now[0], idle_s=10, max_age_s=30)
    anonymous = sessions.new()
    signed = sessions.sign_in(anonymous, "nn_token")
    assert signed.sid != anonymous.sid and sessions.get(anonymous.sid) is None
    assert csrf_ok(signed, signed.csrf) and not csrf_ok(signed, "") and not csrf_ok(None, "x")
    now[0] = 9
    assert sessions.get(signed.sid) is signed  # activity keeps it
    now[0] = 20
    assert sessions.get(signed.sid) is None  # idle for 11 s
    late = sessions.new()
    now[0] = 51
    assert sessions.peek(late.sid) is None  # over its whole life
    assert cookie_value({"cookie": b"a=1; nn_session=abc; b=2"}) == "abc"


def test_a_flood_of_sign_in_pages_signs_nobody_out() -> None:
    """Anonymous sessions (anyone can make one by opening the sign-in page) have their own
    cap: the oldest anonymous one goes, never a signed-in session."""
    sessions = Sessions(max_anonymous=3)
    signed = sessions.sign_in(sessions.new(), "nn_token")
    first = sessions.new()
    flood = [sessions.new() for _ in range(10)]
    assert sessions.get(signed.sid) is signed
    assert sessions.get(first.sid) is None and sessions.get(flood[0].sid) is None
    assert all(sessions.get(s.sid) is s for s in flood[-3:])
    sessions.end_all("nn_token")
    assert sessions.get(signed.sid) is None


def test_the_stylesheet_uses_logical_properties_only() -> None:
    """Ready for a right-to-left language: no physical left/right in the layout."""
    from pathlib import Path

    import noticenet.node.web as web

    css = (Path(web.__file__).parent / "static" / "app.css").read_text()
    physical = re.findall(
        r"(?:margin|padding|border|inset)-(?:left|right)|\b(?:left|right)\s*:", css
    )
    assert physical == []
    assert re.search(r"text-align:\s*(left|right)", css) is None


def test_a_diffusion_refused_for_its_recipients_lands_on_the_picker() -> None:
    with pytest.raises(SchemaError) as refused:
        parse_record("diffusion", forms.diffusion_record({"purpose": "locate"}, []))
    assert forms.field_of(str(refused.value), "diffusion", forms.DIFFUSION_FIELDS) == "recipients"


def test_a_request_model_error_lands_on_its_field() -> None:
    from pydantic import ValidationError

    from noticenet.node.api.ccf import SubjectAccessRequest

    with pytest.raises(ValidationError) as refused:
        SubjectAccessRequest(name="x" * 201)
    errors = request_errors(refused.value, ("name", "forename"), translator("fr"))
    assert list(errors) == ["name"] and errors["name"].text == "Trop long : 200 caractères au plus."
    assert "name: String should have at most 200 characters" in errors["name"].detail


def test_multipart_uploads_are_read_with_the_standard_library() -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n"
        b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"c1.cbor\"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n--b--\r\n"
    )
    fields, files = forms.parse_multipart("multipart/form-data; boundary=b", body)
    assert fields == {"csrf": ["tok"]} and files == {"files": [b"\x00\x01\xff"]}


def test_an_update_keeps_what_the_form_does_not_show() -> None:
    old = {
        "subject": {"name": "A", "height": 180, "forename": "B"},
        "reference": "FRA/1",
        "arrest_warrants": [
            {"charge": "x", "issuing_country": "FRA"},
            {"charge": "y", "issuing_country": "DEU"},
        ],
    }
    form = forms.record_form("notice.red", old)
    assert form["subject.name"] == "A" and form["charge"] == "x"
    form["subject.forename"] = ""
    new = forms.updated_record("notice.red", old, form)
    assert new["subject"] == {"name": "A", "height": 180}
    assert new["reference"] == "FRA/1"
    assert [w["charge"] for w in new["arrest_warrants"]] == ["x", "y"]
    parse_record("notice.red", new)  # still a valid red notice


def test_only_a_live_session_may_send_a_web_body() -> None:
    from noticenet.node.web.install import admit_session

    sessions = Sessions()
    anonymous = sessions.new()
    signed = sessions.sign_in(sessions.new(), "nn_token")
    cookie = {"cookie": f"nn_session={signed.sid}".encode()}
    assert admit_session("/ui/border", cookie, sessions) is not None
    assert admit_session("/records/sltd", cookie, sessions) is None  # the API wants a token
    anon = {"cookie": f"nn_session={anonymous.sid}".encode()}
    assert admit_session("/ui/signin", anon, sessions) is not None
    assert admit_session("/ui/border", anon, sessions) is None
    assert admit_session("/ui/border", {}, sessions) is None


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_pass_wcag_aa() -> None:
    """Every text/background pair the stylesheet uses has a contrast of at least 4.5:1."""
    from pathlib import Path

    import noticenet.node.web as web

    css = (Path(web.__file__).parent / "static" / "app.css").read_text()
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    white, bar = "#ffffff", re.search(r"\.bar \{[^}]*background: (#[0-9a-f]{6})", css)
    assert bar is not None
    pairs = [
        (var["ink"], var["paper"]),
        (var["muted"], var["paper"]),
        (var["accent"], var["paper"]),
        (white, var["accent"]),  # buttons
        (var["hit"], var["paper"]),  # field errors
        (white, var["hit"]),  # a hit
        (white, var["miss"]),  # a miss
        (white, var["held"]),  # a record held for the CCF's review
        (var["held"], var["paper"]),  # the held badge
        (var["miss"], var["paper"]),  # purged
        (var["warn-ink"], var["warn-bg"]),
        (var["warn-ink"], var["paper"]),
        (white, bar.group(1)),  # the menu bar
    ]
    for ink, paper in pairs:
        assert contrast(ink, paper) >= 4.5, (ink, paper, contrast(ink, paper))


def _refusal(kind: str, record: dict[str, object]) -> Exception:
    with pytest.raises(NoticenetError) as refused:
        parse_record(kind, record)
    return refused.value


@pytest.mark.parametrize(
    ("kind", "record", "french"),
    [
        ("notice.red", {"subject": {"name": "X", "place_of_birth": "a" * 201}},
         "Trop long : 200 caractères au plus."),
        ("notice.red", {"subject": {"name": "X", "sex": "Q"}},
         "Valeur non admise ; choisissez parmi : "),
        ("notice.red", {"subject": {"name": "X", "nationalities": ["QQ"]}},
         "Ce n'est pas un code de pays"),
        ("notice.red", {"subject": {"forename": "X"}}, "Ce champ est obligatoire."),
        ("notice.red", {"subject": {"name": "X", "date_of_birth": "yesterday"}},
         "Date non valide"),
        ("notice.red", {"subject": {"name": "X"}, "colour": "red"},
         "Champs ou colonnes inconnus."),
        ("diffusion", {"purpose": "locate", "recipients": [], "subject": {"name": "X"}},
         "Choisissez au moins un membre destinataire."),
        ("vehicle", {"vin": "123", "registration_country": "FRA"},
         "Un VIN compte 17 caractères ; celui-ci en a 3."),
        ("sltd", {"document_number": "A1", "document_type": "P", "issuing_country": "QQ",
          "status": "stolen"},
         "Ce n'est pas un code de pays"),
    ],
)
def test_the_apis_refusals_are_said_in_french(
    kind: str, record: dict[str, object], french: str
) -> None:
    """Real refusals of the record parser, each said by a precise French message (never
    the general one), with the API's English detail kept."""
    exc = _refusal(kind, record)
    said_fr = shown(exc, translator("fr"))
    assert french in said_fr.text, (str(exc), said_fr)
    assert said_fr.detail == str(exc)
    assert said_fr.text != translator("fr")("err.invalid")


def test_typed_errors_and_mrz_fields_are_said_in_french() -> None:
    fr = translator("fr")
    blocked = ReentryBlocked("re-entry blocked: this notice.red matches 2 identifier(s) ...")
    assert "ré-inscription bloquée" in shown(blocked, fr).text
    lines = list(compose_mrz("TD3", document_code="P", issuing_state="DEU",
                             document_number="C01X00T47", nationality="DEU",
                             date_of_birth="800101", sex="M", date_of_expiry="300101",
                             surname="MUSTERMANN", given_names="ERIKA"))
    for position, field in ((9, "numéro du document"), (19, "date de naissance")):
        digit = str((int(lines[1][position]) + 1) % 10)
        with pytest.raises(MRZError) as refused:
            parse_mrz([lines[0], lines[1][:position] + digit + lines[1][position + 1:]])
        assert shown(refused.value, fr).text == f"La ZLA est erronée dans le champ : {field}."
    # An import row's refusal is known by its type's name only.
    assert said(["ReentryBlocked"], "re-entry blocked", fr).text == fr("err.reentry")
    # A message no rule knows gets its type's general message, the detail beside it.
    odd = said(["SchemaError"], "something new went wrong", fr)
    assert odd == web_errors.Shown(fr("err.invalid"), "something new went wrong")


def test_every_error_message_is_in_the_catalogues() -> None:
    keys = {key for _, key in web_errors.PATTERNS} | set(web_errors.BY_TYPE.values())
    keys |= set(web_errors.GENERAL.values()) | {"err.other", "error.mrz"}
    fields = ("document number", "date of birth", "date of expiry", "composite",
              "document code", "issuing state", "nationality", "optional data", "surname",
              "given names", "sex")
    keys |= {"mrz.field." + f.replace(" ", "_") for f in fields}
    for lang, catalogue in CATALOGUES.items():
        assert keys <= set(catalogue), (lang, keys - set(catalogue))

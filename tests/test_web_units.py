"""The web pages' parts without a browser: catalogues, error placement, sessions."""

from __future__ import annotations

import pytest

from noticenet.node.api.records import parse_record
from noticenet.node.web import forms
from noticenet.node.web.i18n import CATALOGUES, DIRECTION, choose, translator
from noticenet.node.web.sessions import Sessions, cookie_value, csrf_ok
from noticenet.protocol.errors import SchemaError


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

"""The similar tier of re-entry guards (record-format 5.4), over in-process ledgers.

A revocation guards its targets at two strengths: a *same* hit refuses a body (409
on publish, tombstoned 'reentry-blocked' on ingest), a *similar* hit stores it but
holds it, hidden from every answer on every node, until the CCF releases or revokes
it. Every node reaches the same state whatever order the entries arrive in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from noticenet.protocol.ccf.review import review_queue
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import NotFound, ReentryBlocked
from noticenet.protocol.identifiers.person_keys import (
    confusable_variants,
    similar_guard_keys,
    similar_keys,
    similar_word_key,
    similar_word_keys,
)
from noticenet.protocol.index.guard_tags import same_tags_for, tags_for
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.ledger import HELD, Ledger, Outcome
from noticenet.protocol.records.entry import MAX_GUARDS
from noticenet.protocol.records.governance import CCF_FEED
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.keyspace import key

from .conftest import NOW
from .samples import document, notice, person
from .test_ccf import Make, action, ccf_act, copy

NGUYEN = person("Nguyen", "Yusuf", "1970-01-02")
SIMILAR = {
    "a typo (letters swapped)": person("Ngyuen", "Yusuf", "1970-01-02"),
    "another language's form": person("Nguyen", "Josef", "1970-01-02"),
    "one letter more": person("Nguyent", "Yusuf", "1970-01-02"),
    "the birth year only": person("Nguyen", "Yusuf", "1970"),
    "no date of birth": person("Nguyen", "Yusuf", ""),
}


# --- the keys ---


def test_similar_word_keys_meet_the_issues_examples() -> None:
    assert similar_word_key("nguyen") == similar_word_key("ngyuen")
    assert similar_word_key("ihor") == similar_word_key("igor")
    assert similar_word_key("mhmd") == similar_word_key("mohmad") == "NT"  # Arabic script
    assert similar_keys("Yusuf", "Nguyen") == similar_keys("Yusuf", "Ngyuen")
    assert set(similar_keys("Josef", "Nguyen")) & set(similar_guard_keys("Yusuf", "Nguyen"))
    assert "0I234567S" in confusable_variants("O1234567S")
    assert "L8989O2C3" in confusable_variants("L898902C3")


def meets(revoked: tuple[str, str], again: tuple[str, str]) -> bool:
    """Whether a header for `again` carries a similar key `revoked`'s guards hold."""
    return bool(set(similar_keys(*again)) & set(similar_guard_keys(*revoked)))


@pytest.mark.parametrize(
    ("revoked", "again"),
    [
        (("Hanna", "Гончаренко"), ("Hanna", "Hončarenko")),  # ISO 9 č is the ch of 'cha'
        (("Yurii", "Shcherbakov"), ("Jurijj", "Shherbakov")),  # j as the glide y
        (("Щерьо", "Атанасов"), ("SHTerjo", "Atanasov")),  # ьо as 'jo' after a consonant
        (("Muhammad", "Al-Hassan"), ("محمد", "الحسن")),  # no vowels: every h heard
        (("Abdul", "Rahman"), ("عبد", "الرحمن")),  # ... or not
        (("Pedro", "de la Cruz"), ("Pedro", "Delacruz")),  # joined particles, shortest first
        (("Anna", "van der Berg"), ("Anna", "Vanderberg")),  # ... and longest first
        (("Anthony", "Pridgen"), ("Anhony", "Pridgen")),  # a class substituted
        (("Gary", "Tarter"), ("Gady", "Tarter")),  # the last of two substituted
        (("Mikhail", "Orlov"), ("Michal", "Orlov")),
    ],
)
def test_similar_keys_meet_spellings_and_typos(
    revoked: tuple[str, str], again: tuple[str, str]
) -> None:
    assert meets(revoked, again)


@pytest.mark.parametrize(
    ("revoked", "again"),
    [
        (("Rina", "Brewer"), ("Lena", "Brewer")),  # the first of two classes differs
        (("Lennie", "Baird"), ("Ellen", "Baird")),  # one starts with a vowel
        (("Maude", "Coyne"), ("Emmett", "Vanhouten")),
    ],
)
def test_similar_keys_keep_apart_different_names(
    revoked: tuple[str, str], again: tuple[str, str]
) -> None:
    assert not meets(revoked, again)


def test_a_word_has_a_second_reading_only_where_its_spelling_is_ambiguous() -> None:
    assert similar_word_keys("nguyen") == (similar_word_key("nguyen"),)
    assert similar_word_keys("jurij") == (similar_word_key("jurij"), similar_word_key("yurij"))
    assert similar_word_key("muhammad") in similar_word_keys("mhmd")
    assert similar_word_key("rahman") in similar_word_keys("rhmn")


def test_headers_carry_both_tiers_and_fit() -> None:
    record = notice(person("Al-Hassan bin Laden", "Mohammed Ali Abd al-Rahman", "1970-01-02"))
    tags = tags_for(record, b"\x01" * 32)
    assert set(same_tags_for(record, b"\x01" * 32)) < set(tags)
    assert len(tags) <= MAX_GUARDS


# --- outcomes ---


def revoked_nguyen(make_ledger: Make, devnet: DevNet) -> dict[str, Any]:
    """FRA publishes Yusuf Nguyen; the CCF revokes the notice with both tiers of guards."""
    fra, pub = make_ledger("FRA")
    ccf, _ = make_ledger("CCF")
    target = pub.publish("notice.red", notice(NGUYEN), NOW)
    copy(fra, ccf, ["FRA"])
    revoke = ccf_act(ccf, devnet, revocation(ccf, target.id))
    fra.ingest(revoke, NOW)
    return {"fra": fra, "pub": pub, "ccf": ccf, "target": target.id, "revoke": revoke}


def revocation(ccf: Ledger, target: bytes) -> Any:
    from noticenet.protocol.ccf import actions

    return actions.action_for(ccf, "revoke", (target,), "article-3", "CCF/2027/7")


@pytest.mark.parametrize("how", sorted(SIMILAR))
def test_a_similar_person_is_held_on_publish_and_on_ingest(
    make_ledger: Make, devnet: DevNet, how: str
) -> None:
    net = revoked_nguyen(make_ledger, devnet)
    deu, deu_pub = make_ledger("DEU")
    copy(net["ccf"], deu, [CCF_FEED])
    entry = deu_pub.publish("notice.red", notice(SIMILAR[how]), NOW)  # stored, not refused
    assert deu.is_held(entry.id) and deu.hidden(entry.id)
    with pytest.raises(NotFound):
        deu.read(entry.id)
    assert deu.find_person("Nguyen", "Yusuf", "1970-01-02") == []
    queue = review_queue(deu)
    assert [h.id for h in queue] == [entry.id]
    [(_, revocations)] = queue[0].guards[:1]
    assert revocations[0].id == net["revoke"].id
    assert revocations[0].targets == (net["target"],)
    # replicated to a node that already holds the revocation: held there too
    results = {r.id: r for r in copy(deu, net["fra"], ["DEU"])}
    assert (results[entry.id].outcome, results[entry.id].reason) == (Outcome.STORED, HELD)
    assert net["fra"].is_held(entry.id)
    assert verify_ledger(deu) == []


def test_a_same_hit_is_refused_even_when_similar_hits_too(
    make_ledger: Make, devnet: DevNet
) -> None:
    net = revoked_nguyen(make_ledger, devnet)
    with pytest.raises(ReentryBlocked):
        net["pub"].publish("notice.red", notice(person("NGUYEN", "Yusuf", "1970-01-02")), NOW)


def test_different_people_are_not_held(make_ledger: Make, devnet: DevNet) -> None:
    net = revoked_nguyen(make_ledger, devnet)
    for other in (person("Nguyen", "Anh", "1970-01-02"), person("Nguyen", "Yusuf", "1988")):
        entry = net["pub"].publish("notice.red", notice(other), NOW)
        assert not net["fra"].is_held(entry.id)
        assert net["fra"].read(entry.id) == notice(other)


def test_a_confusable_document_number_is_held(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    ccf, _ = make_ledger("CCF")
    target = pub.publish("sltd", document("L898902C3"), NOW)
    copy(fra, ccf, ["FRA"])
    fra.ingest(ccf_act(ccf, devnet, revocation(ccf, target.id)), NOW)
    entry = pub.publish("sltd", document("L8989O2C3"), NOW)  # O for 0
    assert fra.is_held(entry.id)
    assert fra.find_document("UTO", "L8989O2C3") == []


def test_release_makes_it_visible_and_revoke_deletes_it(make_ledger: Make, devnet: DevNet) -> None:
    net = revoked_nguyen(make_ledger, devnet)
    fra, ccf = net["fra"], net["ccf"]
    kept = net["pub"].publish("notice.red", notice(SIMILAR["another language's form"]), NOW)
    gone = net["pub"].publish("notice.red", notice(SIMILAR["a typo (letters swapped)"]), NOW)
    copy(fra, ccf, ["FRA"])
    release = ccf_act(ccf, devnet, action("release", [kept.id]))
    revoke = ccf_act(ccf, devnet, revocation(ccf, gone.id))
    for entry in (release, revoke):
        fra.ingest(entry, NOW)
    for ledger in (fra, ccf):
        assert not ledger.is_held(kept.id) and ledger.read(kept.id) == kept_record()
        assert ledger.released_by(kept.id) == release.id
        assert ledger.ccf_status(gone.id) == ccf.ccf_status(gone.id)
        assert ledger.store.get(key(b"b", gone.id)) is None
        assert review_queue(ledger) == []
    assert fra.state_digest() == ccf.state_digest()


def kept_record() -> Any:
    return notice(SIMILAR["another language's form"])


def test_holds_converge_in_any_order(make_ledger: Make, devnet: DevNet) -> None:
    """Revocation, re-entry and release reach four nodes in every order: one state."""
    net = revoked_nguyen(make_ledger, devnet)
    fra, ccf = net["fra"], net["ccf"]
    held = net["pub"].publish("notice.red", notice(SIMILAR["no date of birth"]), NOW)
    later = net["pub"].publish("notice.red", notice(SIMILAR["the birth year only"]), NOW)
    copy(fra, ccf, ["FRA"])
    ccf_act(ccf, devnet, action("release", [later.id]))
    digests = set()
    for order in (["FRA", CCF_FEED], [CCF_FEED, "FRA"]):  # revocation after, before
        node, _ = make_ledger("DEU")
        for feed in order:
            copy(ccf, node, [feed])
        assert node.is_held(held.id) and not node.is_held(later.id)
        assert node.read(later.id) == notice(SIMILAR["the birth year only"])
        digests.add(node.state_digest())
    assert len(digests) == 1


@pytest.mark.parametrize("lie", ["omitted", "forged"])
def test_similar_tags_are_checked_for_honesty(
    make_ledger: Make, devnet: DevNet, lie: str
) -> None:
    """A header without the record's similar tags (to dodge a hold), or with another
    record's, is evidence against its author on every reader."""
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    honest = pub.publish("notice.red", notice(NGUYEN), NOW)
    assert honest.header.key is not None and honest.header.key.epoch is not None
    epoch_key = fra.epoch_key(honest.header.key.epoch)
    assert epoch_key is not None
    record = notice(SIMILAR["a typo (letters swapped)"])
    same = same_tags_for(record, devnet.guard_key)
    if lie == "omitted":
        tags = same
    else:  # the similar tags of another person: dodges the hold just the same
        other = notice(person("Petrov", "Ivan", "1970-01-02"))
        similar_other = set(tags_for(other, devnet.guard_key)) - set(
            same_tags_for(other, devnet.guard_key)
        )
        tags = tuple(sorted(set(same) | similar_other))
    draft = Draft(
        "FRA", honest.header.seq + 1, honest.id, NOW, "notice.red", record,
        NOW + 86_400_000, tags,
    )
    liar = seal_entry(
        draft, EpochKeying(honest.header.key.epoch, epoch_key), devnet.member("FRA").keys.sign
    )
    copy(fra, deu, ["FRA"])
    result = deu.ingest(liar, NOW)
    assert (result.outcome, result.reason) == (Outcome.WITHHELD, "evidence")
    assert liar.id in deu.evidence()


def test_a_release_names_targets_and_holds_no_guards() -> None:
    with pytest.raises(Exception, match="only a revoke"):
        dataclasses.replace(action("release", [b"\x01" * 32]), similar=(b"\x02" * 32,))


def test_a_backup_restored_after_the_revocation_is_held(make_ledger: Make, devnet: DevNet) -> None:
    """A member restores a copy of its feed taken before the revocation: the similar
    re-entries in it come back held, not visible (restore goes through ordinary ingest)."""
    deu, deu_pub = make_ledger("DEU")
    similar = deu_pub.publish("notice.red", notice(SIMILAR["a typo (letters swapped)"]), NOW)
    backup = list(deu.feed("DEU"))
    net = revoked_nguyen(make_ledger, devnet)
    restored, _ = make_ledger("DEU")
    copy(net["ccf"], restored, [CCF_FEED])
    results = {r.id: r for r in (restored.ingest(e, NOW) for e in backup)}
    assert (results[similar.id].outcome, results[similar.id].reason) == (Outcome.STORED, HELD)
    assert restored.hidden(similar.id) and review_queue(restored)[0].id == similar.id

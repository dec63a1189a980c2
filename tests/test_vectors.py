"""The committed test vectors in tests/vectors/ (described in docs/record-format.md).

Two kinds of check: the generator, rerun, reproduces every committed file byte
for byte; and the committed values are checked against the primitives
themselves (hashlib's BLAKE2b, PyNaCl's Ed25519, X25519, sealed boxes and
XChaCha20-Poly1305, and the small canonical CBOR encoder below), so a vector
is right because the algorithms say so, not only because our code agrees with
itself. A last group feeds the vectors through our own decoder, validation
and body opening.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import cbor2
import nacl.bindings
import nacl.signing
import pytest
from nacl.public import PrivateKey, SealedBox

from noticenet.crypto import sender_keys
from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.errors import CodecError
from noticenet.protocol.identifiers import normalise, person_keys
from noticenet.protocol.index.guard_tags import tags_for
from noticenet.protocol.ledger.validation import check_chain, validate_entry
from noticenet.protocol.records.codec import decode
from noticenet.protocol.records.entry import Entry, Header, decode_entry
from noticenet.protocol.records.kinds import parse_body
from noticenet.protocol.records.schema import from_map
from noticenet.protocol.records.sealing import open_body

VECTORS = Path(__file__).resolve().parent / "vectors"
SIGNING_CONTEXT = b"noticenet/v1/header\x00"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(stem: str) -> Any:
    return json.loads((VECTORS / f"{stem}.json").read_text(encoding="utf-8"))


GENERATOR = _generator()
CODEC = _load("codec")
KEYS = _load("keys")
ENTRIES = _load("entries")
GUARDS = _load("guards")
ENTRY_IDS = [e["name"] for e in ENTRIES["entries"]]


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def blake2b256(data: bytes, person: bytes = b"", key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=32, person=person, key=key).digest()


# ---- an independent canonical CBOR encoder (RFC 8949 section 4.2.1) -----------------------


def _head(major: int, argument: int) -> bytes:
    """The shortest head for `argument` under major type `major`."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError("argument does not fit 64 bits")


def cbor(value: Any) -> bytes:
    """Canonical CBOR of the noticenet data model; map keys sorted by encoded bytes."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list | tuple):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        pairs = sorted((cbor(k), cbor(v)) for k, v in value.items())
        return _head(5, len(pairs)) + b"".join(k + v for k, v in pairs)
    raise TypeError(type(value).__name__)


# ---- the committed files are what the generator makes ---------------------------------------


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return dict(GENERATOR.build_vectors())


def test_generator_makes_exactly_the_vector_files(built: dict[str, Any]) -> None:
    assert sorted(built) == sorted(GENERATOR.FILES)
    assert sorted(p.stem for p in VECTORS.glob("*.json")) == sorted(GENERATOR.FILES)


@pytest.mark.parametrize("stem", ["codec", "keys", "entries", "guards"])
def test_committed_file_is_regenerated_byte_for_byte(built: dict[str, Any], stem: str) -> None:
    committed = (VECTORS / f"{stem}.json").read_text(encoding="utf-8")
    fresh = json.dumps(built[stem], sort_keys=True, indent=1) + "\n"
    assert committed == fresh, f"{stem}.json is stale: run python tests/vectors/make_vectors.py"


def test_generator_is_deterministic(built: dict[str, Any]) -> None:
    assert GENERATOR.build_vectors() == built


# ---- codec ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", CODEC["valid"], ids=[v["name"] for v in CODEC["valid"]])
def test_canonical_encodings(vector: dict[str, str]) -> None:
    data = h(vector["hex"])
    value = cbor2.loads(data)  # a lenient third-party decoder ...
    assert cbor(value) == data  # ... and the independent encoder agree: data is canonical
    assert decode(data) == value
    assert GENERATOR.diag(value) == vector["diag"]


@pytest.mark.parametrize("vector", CODEC["rejected"], ids=[v["reason"] for v in CODEC["rejected"]])
def test_rejected_encodings(vector: dict[str, str]) -> None:
    with pytest.raises(CodecError):
        decode(h(vector["hex"]))


def test_codec_limits_are_documented_values() -> None:
    limits = CODEC["limits"]
    assert limits["max_item_bytes"] == 4 * 1024 * 1024
    assert limits["max_depth"] == 16
    assert limits["max_entry_bytes"] == limits["max_body_bytes"] + limits["max_header_bytes"]


# ---- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", sorted(KEYS["members"]))
def test_member_keys_from_seed(member: str) -> None:
    v = KEYS["members"][member]
    seed = h(v["seed"])
    person = {k: p.encode() for k, p in KEYS["personalisations"].items()}
    for name in ("ed25519_seed", "x25519_secret", "libp2p_seed", "index_key"):
        assert blake2b256(seed, person=person[name]).hex() == v[name]
    ed_public, _ = nacl.bindings.crypto_sign_seed_keypair(h(v["ed25519_seed"]))
    assert ed_public.hex() == v["ed25519_public"]
    x_public = nacl.bindings.crypto_scalarmult_base(h(v["x25519_secret"]))
    assert x_public.hex() == v["x25519_public"]
    ours = MemberKeys(seed)
    assert ours.public.signing_key.hex() == v["ed25519_public"]
    assert ours.public.encryption_key.hex() == v["x25519_public"]
    assert (ours.index_key.hex(), ours.libp2p_seed.hex()) == (v["index_key"], v["libp2p_seed"])


@pytest.mark.parametrize("vector", KEYS["entry_keys"], ids=lambda v: f"{v['author']}-{v['seq']}")
def test_entry_keys(vector: dict[str, Any]) -> None:
    seq = int(vector["seq"])  # a decimal string: 2**63 - 1 is beyond a JavaScript number
    message = vector["author"].encode() + b"\x00" + seq.to_bytes(8, "big")
    assert message.hex() == vector["input"]
    key = blake2b256(message, person=b"nn-entry-key", key=h(vector["epoch_key"]))
    assert key.hex() == vector["entry_key"]
    ours = sender_keys.entry_key(h(vector["epoch_key"]), vector["author"], seq)
    assert ours == key


def _check_wrap(wrapped: bytes, key: bytes, secret: bytes, ephemeral: bytes) -> None:
    """A committed wrap opens to `key` and is crypto_box_seal made with `ephemeral`."""
    public = nacl.bindings.crypto_scalarmult_base(secret)
    assert len(wrapped) == 32 + 16 + len(key)
    assert nacl.bindings.crypto_box_seal_open(wrapped, public, secret) == key
    assert SealedBox(PrivateKey(secret)).decrypt(wrapped) == key
    assert sender_keys.unwrap(wrapped, PrivateKey(secret)) == key
    eph_public = nacl.bindings.crypto_scalarmult_base(ephemeral)
    nonce = hashlib.blake2b(eph_public + public, digest_size=24).digest()
    assert wrapped == eph_public + nacl.bindings.crypto_box(key, nonce, public, ephemeral)


@pytest.mark.parametrize("vector", KEYS["wraps"], ids=lambda v: str(v["recipient"]))
def test_wrap_decrypt_vectors(vector: dict[str, str]) -> None:
    secret = h(vector["recipient_x25519_secret"])
    assert nacl.bindings.crypto_scalarmult_base(secret).hex() == vector["recipient_x25519_public"]
    _check_wrap(h(vector["wrap"]), h(vector["key"]), secret, h(vector["ephemeral_secret"]))


def test_random_wraps_open_the_same_way() -> None:
    v = KEYS["wraps"][0]
    secret, key = h(v["recipient_x25519_secret"]), h(v["key"])
    public = h(v["recipient_x25519_public"])
    wrapped = sender_keys.wrap(key, public)
    assert nacl.bindings.crypto_box_seal_open(wrapped, public, secret) == key


# ---- entries, from the JSON and the primitives alone -----------------------------------------


def _x25519_secret(member: str) -> bytes:
    return h(KEYS["members"][member]["x25519_secret"])


def _entry(name: str) -> dict[str, Any]:
    return next(e for e in ENTRIES["entries"] if e["name"] == name)


@pytest.mark.parametrize("vector", ENTRIES["entries"], ids=ENTRY_IDS)
def test_entry_bytes(vector: dict[str, Any]) -> None:
    wire, header, body = h(vector["wire"]), h(vector["header"]), h(vector["body"])
    sig = h(vector["signature"])
    doc = cbor2.loads(wire)
    assert set(doc) == {"header", "sig", "body"}
    assert (doc["sig"], doc["body"]) == (sig, body)
    assert cbor(doc["header"]) == header
    assert GENERATOR.diag(doc["header"]) == vector["header_diag"]
    # The maps written out by hand: keys in canonical order sig < body < header.
    signed = b"\xa2" + cbor("sig") + cbor(sig) + cbor("header") + header
    assert signed.hex() == vector["signed_header"]
    with_body = b"\xa3" + cbor("sig") + cbor(sig) + cbor("body") + cbor(body) + cbor("header")
    assert with_body + header == wire
    detached = b"\xa3" + cbor("sig") + cbor(sig) + cbor("body") + b"\xf6" + cbor("header") + header
    assert detached.hex() == vector["wire_without_body"]
    assert (SIGNING_CONTEXT + header).hex() == vector["signing_bytes"]
    nacl.signing.VerifyKey(h(vector["signer_public"])).verify(SIGNING_CONTEXT + header, sig)
    assert blake2b256(signed).hex() == vector["entry_id"]
    assert doc["header"]["body_hash"] == blake2b256(body) == h(vector["body_hash"])
    assert doc["header"]["body_len"] == len(body) == vector["body_len"]
    assert doc["header"]["v"] == 1


@pytest.mark.parametrize("vector", ENTRIES["entries"], ids=ENTRY_IDS)
def test_entry_body_opens(vector: dict[str, Any]) -> None:
    header = cbor2.loads(h(vector["header"]))
    body, plain = h(vector["body"]), h(vector["body_plaintext"])
    record = cbor2.loads(plain)
    assert cbor(record) == plain
    assert GENERATOR.diag(record) == vector["record_diag"]
    if vector["keying"] == "public":
        assert header["audience"] == ["public"] and "key" not in header
        assert body == plain
        return
    key = h(vector["entry_key"])
    aad = cbor({k: v for k, v in header.items() if k not in ("body_hash", "body_len")})
    assert aad.hex() == vector["aad"]
    assert body[:24].hex() == vector["nonce"]
    opened = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
        body[24:], aad, body[:24], key
    )
    assert opened == plain
    if vector["keying"] == "broadcast":
        epoch = ENTRIES["parameters"]["epoch_key"]
        assert header["audience"] == ["all"] and set(header["key"]) == {"epoch"}
        assert header["key"]["epoch"].hex() == _entry("key epoch (FRA 1, public)")["entry_id"]
        message = header["author"].encode() + b"\x00" + header["seq"].to_bytes(8, "big")
        assert blake2b256(message, person=b"nn-entry-key", key=h(epoch)) == key
    else:
        wraps = header["key"]["wraps"]
        assert set(header["key"]) == {"wraps"}
        assert header["audience"] == sorted(header["audience"]) == sorted(wraps)
        assert "CCF" in wraps and header["author"] in wraps
        committed = {w["recipient"]: w for w in vector["wraps"]}
        for member, wrapped in wraps.items():
            assert wrapped.hex() == committed[member]["wrap"]
            ephemeral = h(committed[member]["ephemeral_secret"])
            _check_wrap(wrapped, key, _x25519_secret(member), ephemeral)


def test_key_epoch_and_roster_wraps_open() -> None:
    for name, key in (
        ("key epoch (FRA 1, public)", ENTRIES["parameters"]["epoch_key"]),
        ("genesis roster (#GOV 1, public)", ENTRIES["parameters"]["guard_key"]),
    ):
        vector = _entry(name)
        record = cbor2.loads(h(vector["body"]))
        wraps = record["wraps"] if "wraps" in record else record["guard_key_wraps"]
        assert sorted(wraps) == [w["recipient"] for w in vector["wraps"]]
        for w in vector["wraps"]:
            assert wraps[w["recipient"]].hex() == w["wrap"] and w["key"] == key
            _check_wrap(
                h(w["wrap"]), h(key), _x25519_secret(w["recipient"]), h(w["ephemeral_secret"])
            )


# ---- entries through our own decoder, validation and readers ---------------------------------


def _decode(vector: dict[str, Any]) -> Entry:
    """The vector's entry, parsed with our code; seq 1 works around the missing `prev` field."""
    wire = h(vector["wire"])
    doc = decode(wire)
    if doc["header"]["seq"] != 1:
        entry = decode_entry(wire)
    else:
        header = from_map(Header, {**doc["header"], "prev": None}, "header")
        entry = Entry(header, doc["sig"], doc["body"])
    assert entry.to_wire() == wire
    assert entry.id.hex() == vector["entry_id"]
    return entry


@pytest.mark.parametrize(
    "vector",
    [e for e in ENTRIES["entries"] if "#GOV 1" in e["name"] or "FRA 1" in e["name"]],
    ids=lambda e: str(e["name"]),
)
def test_decode_entry_reads_first_entries(vector: dict[str, Any]) -> None:
    assert decode_entry(h(vector["wire"])).to_wire() == h(vector["wire"])


def test_feed_validates_and_opens() -> None:
    now = ENTRIES["parameters"]["validate_at"]
    entries = [_decode(v) for v in ENTRIES["entries"]]
    genesis, feed = entries[0], entries[1:]
    anchor = h(KEYS["groups"]["governance"]["ed25519_public"])
    validate_entry(genesis, None, now, anchor)
    assert genesis.body is not None
    roster = parse_body("roster", decode(genesis.body))
    fra = PrivateKey(_x25519_secret("FRA"))
    guard_key = sender_keys.unwrap(roster.guard_key_wraps["FRA"], fra)
    assert guard_key.hex() == ENTRIES["parameters"]["guard_key"]
    previous: tuple[int, bytes] | None = None
    epoch_key = b""
    for entry, vector in zip(feed, ENTRIES["entries"][1:], strict=True):
        validate_entry(entry, roster, now)
        check_chain(entry.header, previous)
        previous = (entry.header.seq, entry.id)
        if entry.header.kind == "key_epoch":
            epoch = open_body(entry, None)
            epoch_key = sender_keys.unwrap(epoch.wraps["FRA"], fra)
            record = epoch
        elif entry.header.key is None:
            record = open_body(entry, None)
        elif entry.header.key.wraps is not None:
            record = open_body(entry, sender_keys.unwrap(entry.header.key.wraps["FRA"], fra))
        else:
            key = sender_keys.entry_key(epoch_key, entry.header.author, entry.header.seq)
            assert key.hex() == vector["entry_key"]
            record = open_body(entry, key)
        if entry.header.key is not None:
            assert tags_for(record, guard_key) == entry.header.guards


# ---- guard tags --------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", GUARDS["tags"], ids=lambda v: str(v["domain"]))
def test_guard_tags(vector: dict[str, Any]) -> None:
    data = "\x1f".join([vector["domain"], *vector["parts"]]).encode()
    assert data.hex() == vector["input"]
    tag = blake2b256(data, person=b"nn-guard-tag", key=h(GUARDS["guard_key"]))
    assert tag.hex() == vector["tag"]


@pytest.mark.parametrize("vector", GUARDS["records"], ids=lambda v: str(v["name"]))
def test_guard_tags_of_records(vector: dict[str, Any]) -> None:
    key = h(GUARDS["guard_key"])
    record = parse_body(vector["kind"], decode(h(vector["record"])))
    expected = sorted(
        blake2b256("\x1f".join([i["domain"], *i["parts"]]).encode(), b"nn-guard-tag", key)
        for i in vector["identifiers"]
    )
    assert [t.hex() for t in expected] == vector["tags"]
    assert [t.hex() for t in tags_for(record, key)] == vector["tags"]


@pytest.mark.parametrize(
    "vector", GUARDS["normalise"], ids=lambda v: f"{v['function']}-{'-'.join(v['args'])}"
)
def test_normalisation(vector: dict[str, Any]) -> None:
    name = vector["function"]
    function = getattr(normalise, name, None) or getattr(person_keys, name)
    result = function(*vector["args"])
    assert (list(result) if isinstance(result, tuple) else result) == vector["result"]

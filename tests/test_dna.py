"""DNA STR profiles: loci sets, validation, matching, canonical encoding, index keys."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.identifiers.dna import (
    CODIS20,
    ESS,
    LOCI_SETS,
    DNAMatch,
    DNAProfile,
    match,
    profile_index_keys,
)


def random_alleles(rng: random.Random, loci: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """A plausible random profile: repeat numbers 6..30, some microvariants."""

    def allele() -> str:
        whole = str(rng.randint(6, 30))
        return whole + rng.choice(["", "", "", ".2", ".3"])

    return {locus: (allele(), allele()) for locus in loci}


def test_loci_sets_are_the_published_ones() -> None:
    assert len(CODIS20) == len(set(CODIS20)) == 20
    assert len(ESS) == len(set(ESS)) == 12
    assert set(ESS) <= set(CODIS20)
    assert set(CODIS20) - set(ESS) == {
        "CSF1PO", "TPOX", "D5S818", "D7S820", "D13S317", "D16S539", "D2S1338", "D19S433",
    }  # fmt: skip
    assert dict(LOCI_SETS) == {"CODIS20": CODIS20, "ESS": ESS}


def test_profile_normalises_pairs_and_locus_order() -> None:
    lenient = {"VWA": ("17", "14"), "TH01": ("9.3", "6"), "FGA": ("22",)}
    profile = DNAProfile("ESS", lenient)  # type: ignore[arg-type]
    assert list(profile.alleles) == ["VWA", "TH01", "FGA"]  # ESS order
    assert profile.alleles["VWA"] == ("14", "17")
    assert profile.alleles["TH01"] == ("6", "9.3")  # numeric, not string, order
    assert profile.alleles["FGA"] == ("22", "22")  # homozygote written twice
    same = DNAProfile("ESS", {"FGA": ("22", "22"), "TH01": ("6", "9.3"), "VWA": ("14", "17")})
    assert profile == same and hash(profile) == hash(same)
    assert DNAProfile("ESS", {"TH01": ("9", "9.3")}).alleles["TH01"] == ("9", "9.3")
    assert DNAProfile("ESS", {"TH01": ("10", "9.3")}).alleles["TH01"] == ("9.3", "10")


def test_profile_is_immutable() -> None:
    source = {"VWA": ("14", "17")}
    profile = DNAProfile("ESS", source)
    source["VWA"] = ("1", "2")
    assert profile.alleles["VWA"] == ("14", "17")
    with pytest.raises(TypeError):
        profile.alleles["VWA"] = ("1", "2")  # type: ignore[index]


@pytest.mark.parametrize(
    ("loci_set", "alleles", "message"),
    [
        ("SGM+", {"VWA": ("14", "17")}, "unknown loci set"),
        ("ESS", {}, "at least one"),
        ("ESS", {"TPOX": ("8", "11")}, "not in the ESS set"),
        ("ESS", {"vWA": ("14", "17")}, "not in the ESS set"),
        ("ESS", {"VWA": ("14", "17", "18")}, "one or two alleles"),
        ("ESS", {"VWA": ()}, "one or two alleles"),
        ("ESS", {"VWA": "14/17"}, "one or two alleles"),
        ("ESS", {"VWA": ("14", "x")}, "repeat number"),
        ("ESS", {"VWA": ("014", "17")}, "repeat number"),
        ("ESS", {"VWA": ("0", "17")}, "repeat number"),
        ("ESS", {"VWA": ("9.4", "17")}, "repeat number"),
        ("ESS", {"VWA": ("9.", "17")}, "repeat number"),
        ("ESS", {"VWA": (14, 17)}, "repeat number"),
        ("ESS", {"AMEL": ("X", "Z")}, "'X' or 'Y'"),
    ],
)
def test_invalid_profiles_are_refused(loci_set: str, alleles: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        DNAProfile(loci_set, alleles)  # type: ignore[arg-type]


def test_amelogenin_is_reported_but_never_counts() -> None:
    rng = random.Random(1)
    alleles = random_alleles(rng, ESS)
    male = DNAProfile("ESS", {**alleles, "AMEL": ("Y", "X")})
    female = DNAProfile("ESS", {**alleles, "AMEL": ("X", "X")})
    assert male.alleles["AMEL"] == ("X", "Y")
    assert "AMEL" not in male.str_loci
    report = match(male, female)
    assert report.verdict == "match" and report.amelogenin_mismatch
    assert len(report.compared) == 12
    assert not any(key.startswith("AMEL") for key in profile_index_keys(male))
    assert not match(male, DNAProfile("ESS", alleles)).amelogenin_mismatch


def test_identical_profiles_match() -> None:
    alleles = random_alleles(random.Random(2), CODIS20)
    report = match(DNAProfile("CODIS20", alleles), DNAProfile("CODIS20", alleles))
    assert report == DNAMatch(
        compared=CODIS20,
        matching=CODIS20,
        mismatching=(),
        shared_allele=(),
        amelogenin_mismatch=False,
        verdict="match",
    )


def test_codis_and_ess_profiles_compare_on_shared_loci() -> None:
    alleles = random_alleles(random.Random(3), CODIS20)
    us = DNAProfile("CODIS20", alleles)
    eu = DNAProfile("ESS", {locus: alleles[locus] for locus in ESS})
    report = match(us, eu)
    assert set(report.compared) == set(ESS) and report.verdict == "match"
    assert match(eu, us).verdict == "match"


def test_verdicts() -> None:
    rng = random.Random(4)
    base = random_alleles(rng, CODIS20)
    profile = DNAProfile("CODIS20", base)

    def with_changes(n: int) -> DNAProfile:
        changed = dict(base)
        for locus in CODIS20[:n]:
            low = changed[locus][0]
            changed[locus] = (low, "99")  # keep one allele: a drop-in at this locus
        return DNAProfile("CODIS20", changed)

    assert match(profile, with_changes(1)).verdict == "partial"
    four = match(profile, with_changes(4))
    assert four.verdict == "partial"  # 16/20 = 0.8
    assert four.mismatching == CODIS20[:4] and four.shared_allele == CODIS20[:4]
    assert match(profile, with_changes(5)).verdict == "no_match"
    assert match(profile, with_changes(1), partial_fraction=1.0).verdict == "no_match"

    few = DNAProfile("CODIS20", {locus: base[locus] for locus in CODIS20[:7]})
    assert match(profile, few).verdict == "insufficient"
    assert match(profile, few, min_loci=7).verdict == "match"

    stranger = DNAProfile("CODIS20", {locus: ("98", "99") for locus in CODIS20})
    report = match(profile, stranger)
    assert report.verdict == "no_match" and report.matching == () and report.shared_allele == ()


def test_match_parameters_are_checked() -> None:
    profile = DNAProfile("ESS", {"VWA": ("14", "17")})
    with pytest.raises(ValueError):
        match(profile, profile, min_loci=0)
    with pytest.raises(ValueError):
        match(profile, profile, partial_fraction=0.0)


def test_canonical_dict_round_trip() -> None:
    lenient = {"TH01": ("9.3", "6"), "VWA": ("17",), "AMEL": ("Y", "X")}
    profile = DNAProfile("ESS", lenient)  # type: ignore[arg-type]
    encoded = profile.to_dict()
    assert encoded == {"set": "ESS", "VWA": "17/17", "TH01": "6/9.3", "AMEL": "X/Y"}
    assert DNAProfile.from_dict(encoded) == profile
    assert DNAProfile.from_dict(dict(reversed(list(encoded.items())))) == profile


@pytest.mark.parametrize(
    "data",
    [
        {"VWA": "14/17"},
        {"set": 3, "VWA": "14/17"},
        {"set": "ESS", "VWA": "17/14"},
        {"set": "ESS", "VWA": "14"},
        {"set": "ESS", "VWA": "14/17/18"},
        {"set": "ESS", "VWA": ["14", "17"]},
        {"set": "ESS"},
        {"set": "ESS", "TPOX": "8/11"},
    ],
)
def test_non_canonical_dicts_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(SchemaError):
        DNAProfile.from_dict(data)  # type: ignore[arg-type]


def test_index_keys() -> None:
    profile = DNAProfile("ESS", {"FGA": ("24", "21"), "D3S1358": ("15", "16")})
    assert profile_index_keys(profile) == ["D3S1358=15/16", "FGA=21/24"]
    other = DNAProfile("CODIS20", {"D3S1358": ("16", "15"), "TPOX": ("8", "8")})
    assert set(profile_index_keys(profile)) & set(profile_index_keys(other)) == {"D3S1358=15/16"}


alleles_st = st.builds(
    lambda whole, part: f"{whole}.{part}" if part else str(whole),
    st.integers(1, 99),
    st.sampled_from([0, 0, 0, 1, 2, 3]),
)
profiles = st.builds(
    lambda loci_set, data: DNAProfile(loci_set, data),
    st.shared(st.sampled_from(sorted(LOCI_SETS)), key="set"),
    st.shared(st.sampled_from(sorted(LOCI_SETS)), key="set").flatmap(
        lambda name: st.dictionaries(
            st.sampled_from(LOCI_SETS[name]),
            st.tuples(alleles_st, alleles_st),
            min_size=1,
        )
    ),
)


@settings(max_examples=150, derandomize=True, database=None)
@given(profiles)
def test_encoding_and_self_match_properties(profile: DNAProfile) -> None:
    assert DNAProfile.from_dict(profile.to_dict()) == profile
    assert len(profile_index_keys(profile)) == len(profile.str_loci)
    report = match(profile, profile, min_loci=1)
    assert report.verdict == "match" and report.matching == profile.str_loci
    for low, high in profile.alleles.values():
        assert DNAProfile(profile.loci_set, {"VWA": (high, low)}).alleles["VWA"] == (low, high)

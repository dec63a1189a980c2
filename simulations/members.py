"""Who is in a simulated network: INTERPOL's 195 member countries, partners and the CCF.

The member list is the 193 United Nations member states less the three that
are not INTERPOL members (the Democratic People's Republic of Korea, Palau
and Tuvalu), plus the five non-UN members: the Holy See, Palestine, and the
Dutch Caribbean countries Aruba, Curaçao and Sint Maarten. That is INTERPOL's
membership of 195 after Micronesia joined at the 2023 General Assembly
(docs/simulation.md lists the sources). Codes are ISO 3166-1 alpha-3 and are
checked against pycountry.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

INTERPOL_MEMBERS: tuple[str, ...] = tuple(
    """
    ABW AFG AGO ALB AND ARE ARG ARM ATG AUS AUT AZE BDI BEL BEN BFA BGD BGR BHR BHS BIH BLR BLZ BOL
    BRA BRB BRN BTN BWA CAF CAN CHE CHL CHN CIV CMR COD COG COL COM CPV CRI CUB CUW CYP CZE DEU DJI
    DMA DNK DOM DZA ECU EGY ERI ESP EST ETH FIN FJI FRA FSM GAB GBR GEO GHA GIN GMB GNB GNQ GRC GRD
    GTM GUY HND HRV HTI HUN IDN IND IRL IRN IRQ ISL ISR ITA JAM JOR JPN KAZ KEN KGZ KHM KIR KNA KOR
    KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE
    MNG MOZ MRT MUS MWI MYS NAM NER NGA NIC NLD NOR NPL NRU NZL OMN PAK PAN PER PHL PNG POL PRT PRY
    PSE QAT ROU RUS RWA SAU SDN SEN SGP SLB SLE SLV SMR SOM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC
    SYR TCD TGO THA TJK TKM TLS TON TTO TUN TUR TZA UGA UKR URY USA UZB VAT VCT VEN VNM VUT WSM YEM
    ZAF ZMB ZWE
    """.split()
)

CCF = "CCF"


@dataclass(frozen=True)
class Organisation:
    """A node that is not a country: where it sits and what it may publish."""

    id: str
    name: str
    country: str  # where its node runs (alpha-3), for latency
    city: str
    scopes: tuple[str, ...] = ()


PARTNERS: dict[str, Organisation] = {
    "EUROPOL": Organisation("EUROPOL", "Europol", "NLD", "The Hague", ("sltd", "vehicle")),
    "FRONTEX": Organisation("FRONTEX", "Frontex", "POL", "Warsaw", ("sltd",)),
    "AFRIPOL": Organisation("AFRIPOL", "Afripol", "DZA", "Algiers", ("sltd", "vehicle")),
}
CCF_SITE = Organisation(CCF, "Commission for the Control of INTERPOL's Files", "FRA", "Lyon")


@dataclass(frozen=True)
class Member:
    """One node of the simulated network."""

    id: str
    role: str  # member | partner | ccf
    name: str
    country: str  # alpha-3 of the country whose coordinates it takes
    city: str = ""  # a city to locate it; empty: the country's capital
    scopes: tuple[str, ...] = ()


def country_name(alpha3: str) -> str:
    country = pycountry.countries.get(alpha_3=alpha3)
    if country is None:
        raise ValueError(f"{alpha3} is not an ISO 3166-1 alpha-3 code")
    return str(country.name)


def roster(
    countries: tuple[str, ...] | list[str] = INTERPOL_MEMBERS,
    partners: tuple[str, ...] | list[str] = (),
    ccf: bool = True,
) -> list[Member]:
    """The members of a network: countries, then partner organisations, then the CCF."""
    out = [Member(c, "member", f"{country_name(c)} NCB", c) for c in countries]
    for pid in partners:
        org = PARTNERS.get(pid)
        if org is None:
            raise ValueError(f"unknown partner {pid!r}; known: {sorted(PARTNERS)}")
        out.append(Member(org.id, "partner", org.name, org.country, org.city, org.scopes))
    if ccf:
        out.append(Member(CCF, "ccf", CCF_SITE.name, CCF_SITE.country, CCF_SITE.city))
    ids = [m.id for m in out]
    if len(set(ids)) != len(ids):
        raise ValueError("member ids repeat")
    return out

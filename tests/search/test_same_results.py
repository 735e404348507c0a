"""One fixed marketplace, one table of searches, one exact expected order for each.

Every sort key in the dataset is distinct, or its ties are spelt out as broken by listing id,
so each expected order is fully determined. The suite runs unchanged on SQLite and on
PostgreSQL (`TEST_BACKEND=postgres`), so passing on both proves the backends agree.

Listings are in UTC, open around the clock; their minimum notice (2-hour steps) fixes the
order of their next free slots. Distances are due north of ORIGIN. In the relevance blend
(rating, or 3.5 unrated, + 1 when free within a week, - distance / 2 km when located)
no two listings come closer than 0.04.
"""

from datetime import UTC, datetime, timedelta

from marketplace.practitioners.models import ListingStatus
from tests.factories import ALL_DAY, add_extra_service, create_listing, set_rating
from tests.search.helpers import ORIGIN, north_of, search

DAY = 24 * 60

# key: (name, therapy, minutes, cents, rating, km, gender, languages, telehealth, notice)
LISTINGS = {
    "A": ("Ava Thornbury", "trigger-point-therapy", 60, 9000, (4.9, 12), 3, "female",
          ["en"], True, 60),
    "B": ("Ben Okafor", "dry-needling", 45, 11000, (4.2, 30), 1, "male",
          ["en", "fr"], False, 180),
    "C": ("Chloe Marchetti", "remedial-massage", 60, 8500, (3.8, 5), 8, "female",
          ["en", "it"], True, 300),
    "D": ("Dev Raman", "chiropractic", 30, 6000, None, 5, "male",
          ["en", "hi"], False, 420),
    "E": ("Eliza Wren", "acupuncture", 60, 9500, (4.6, 8), 12, "non_binary",
          ["en", "zh"], True, 540),
    "F": ("Farah Haddad", "myotherapy", 60, 10500, (4.0, 20), 16, "female",
          ["en", "ar"], False, 660),
    "G": ("George Lindqvist", "physiotherapy", 45, 12500, (3.2, 40), 20, "male",
          ["en", "sv"], True, 780),
    "H": ("Hana Sato", "dry-needling", 60, 13000, (4.4, 3), 24, "female",
          ["en", "ja"], False, 900),
    # Free only after eight days: not "soon", and outside the default 25 km.
    "I": ("Isla Mercer", "trigger-point-therapy", 90, 15000, None, 30, "undisclosed",
          ["en"], False, 8 * DAY),
    # No hours at all: never free.
    "J": ("Jules Okonkwo", "osteopathy", 60, 8000, (4.7, 15), 11, "male",
          ["en", "fr"], False, 0),
}  # fmt: skip
TEXT = {
    "A": {"headline": "Trigger point therapy for tight glutes", "bio": "Hands-on knot release."},
    "F": {"headline": "Trained at the Thornbury Clinic", "bio": "Muscles and movement."},
    "G": {"headline": "Sports physiotherapist", "bio": "Formerly at Thornbury Sports."},
}
EXTRA_SERVICES = {
    "C": [{"therapy": "dry-needling", "duration_minutes": 30, "price_cents": 7000}],
    "E": [{"therapy": "cupping", "duration_minutes": 30, "price_cents": 5500}],
}
# An inactive service must count for nothing (not price, not therapy, not text).
INACTIVE_SERVICES = {"B": [{"therapy": "cupping", "duration_minutes": 30, "price_cents": 3000}]}

LAT, LNG = ORIGIN

# (query, expected keys in order); a tuple inside is a tie broken by ascending listing id.
CASES = [
    ({}, "A E H B F C J D G I"),
    ({"sort": "relevance", "per_page": 50}, "A E H B F C J D G I"),
    ({"sort": "rating"}, ["A", "J", "E", "H", "B", "F", "C", "G", ("D", "I")]),
    ({"sort": "price"}, "E D C J A F B G H I"),
    ({"sort": "soonest"}, "A B C D E F G H I J"),
    ({"lat": LAT, "lng": LNG, "sort": "distance"}, "B A D C J E F G H"),
    ({"lat": LAT, "lng": LNG, "radius_km": 40, "sort": "distance"}, "B A D C J E F G H I"),
    ({"lat": LAT, "lng": LNG, "radius_km": 2, "sort": "distance"}, "B"),
    # Issue 15: located, every 2 km weighs a star (was distance / radius: "A B E C H F D J G").
    ({"lat": LAT, "lng": LNG}, "B A D C E J F G H"),
    ({"q": "thornbury"}, "A F G"),
    ({"q": "thornbury", "lat": LAT, "lng": LNG, "sort": "distance"}, "A F G"),
    ({"q": "dry needling"}, "H B C"),
    ({"q": "dry needle", "sort": "price"}, "C B H"),
    ({"q": "glute"}, "A H B F C J G I"),
    ({"q": "sciatica", "sort": "price"}, "E D C J A F B G H I"),
    ({"q": "cupping"}, "E"),
    ({"therapy": "dry-needling", "sort": "price"}, "C B H"),
    ({"therapy": "cupping"}, "E"),
    ({"therapy": ["dry-needling", "trigger-point-therapy"], "sort": "rating"}, "A H B C I"),
    ({"therapy": ["dry-needling", "trigger-point-therapy"], "sort": "soonest"}, "A B C H I"),
    ({"condition": "buttock-pain", "sort": "rating"}, "A J H B F C G I"),
    ({"condition": "buttock-pain", "therapy": "dry-needling", "sort": "soonest"}, "B C H"),
    ({"gender": "female", "lat": LAT, "lng": LNG, "sort": "distance"}, "A C F H"),
    ({"gender": "male", "sort": "soonest"}, "B D G J"),
    ({"language": "fr"}, "B J"),
    ({"telehealth": "true", "sort": "price"}, "E C A G"),
    ({"price_max": 9000, "sort": "price"}, "E D C J A"),
    ({"price_max": 9000, "sort": "rating"}, "A J E C D"),
    ({"price_max": 7000, "therapy": "dry-needling"}, "C"),
    ({"sort": "rating", "page": 2, "per_page": 3}, "H B F"),
    ({"sort": "price", "page": 4, "per_page": 3}, "I"),
]


def dated_cases() -> list:
    in_three_days = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    return [
        ({"available_on": in_three_days, "sort": "price"}, "E D C A F B G H"),
        ({"available_on": in_three_days, "therapy": "dry-needling"}, "H B C"),
    ]


def build_marketplace(app, client, token_for) -> dict:
    built = {}
    for key, row in LISTINGS.items():
        name, therapy, minutes, cents, rating, km, gender, languages, telehealth, notice = row
        built[key] = create_listing(
            app,
            name=name,
            timezone="UTC",
            therapy=therapy,
            duration_minutes=minutes,
            price_cents=cents,
            weekly_hours=[] if key == "J" else ALL_DAY,
            gender=gender,
            languages=languages,
            telehealth=telehealth,
            min_notice_minutes=notice,
            **TEXT.get(key, {"headline": "", "bio": "Hands-on care."}),
            **north_of(km),
        )
        if rating is not None:
            set_rating(app, built[key].id, *rating)
    for key, services in EXTRA_SERVICES.items():
        for service in services:
            add_extra_service(client, token_for(built[key].owner_email), **service)
    for key, services in INACTIVE_SERVICES.items():
        owner = token_for(built[key].owner_email)
        for service in services:
            service_id = add_extra_service(client, owner, **service)
            response = client.patch(
                f"/api/v1/practitioner/services/{service_id}", json={"active": False}, headers=owner
            )
            assert response.status_code == 200, response.get_data(as_text=True)
    # Listings the public must never see, matching every search above.
    for status in (ListingStatus.PENDING, ListingStatus.SUSPENDED, ListingStatus.DRAFT):
        create_listing(
            app,
            name=f"Zed Thornbury {status.value}",
            timezone="UTC",
            therapy="dry-needling",
            price_cents=100,
            weekly_hours=ALL_DAY,
            gender="female",
            languages=["en", "fr"],
            telehealth=True,
            status=status,
            **north_of(0.5),
        )
    return built


def expected_slugs(built: dict, expected) -> list[str]:
    keys = expected.split() if isinstance(expected, str) else expected
    slugs = []
    for key in keys:
        if isinstance(key, tuple):
            tied = sorted((built[k] for k in key), key=lambda listing: listing.id)
            slugs.extend(listing.slug for listing in tied)
        else:
            slugs.append(built[key].slug)
    return slugs


def mismatches(client, built: dict, cases) -> dict:
    wrong = {}
    for params, expected in cases:
        got = [item["slug"] for item in search(client, **params)["items"]]
        want = expected_slugs(built, expected)
        if got != want:
            wrong[repr(params)] = {"got": got, "want": want}
    return wrong


def test_every_search_returns_the_expected_order(app, client, token_for):
    built = build_marketplace(app, client, token_for)
    assert mismatches(client, built, CASES) == {}
    check_totals_and_facets(client)


def test_every_dated_search_returns_the_expected_order(app, client, token_for):
    built = build_marketplace(app, client, token_for)
    assert mismatches(client, built, dated_cases()) == {}


def check_totals_and_facets(client):
    body = search(client, per_page=2)
    assert body["total"] == 10
    assert body["facets"] == {
        "therapy": {
            "trigger-point-therapy": 2,
            "dry-needling": 3,
            "remedial-massage": 1,
            "chiropractic": 1,
            "acupuncture": 1,
            "cupping": 1,
            "myotherapy": 1,
            "physiotherapy": 1,
            "osteopathy": 1,
        },
        "gender": {"female": 4, "male": 4, "non_binary": 1, "undisclosed": 1},
    }
    body = search(client, q="thornbury", lat=LAT, lng=LNG)
    assert body["total"] == 3
    assert body["facets"] == {
        "therapy": {"trigger-point-therapy": 1, "myotherapy": 1, "physiotherapy": 1},
        "gender": {"female": 2, "male": 1},
    }

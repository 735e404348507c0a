"""GET /practitioners: every filter alone, together, and only over public, active offers."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.practitioners.models import ListingStatus
from tests.factories import (
    add_extra_service,
    add_location_at,
    all_day_listing,
    book_and_pay,
    hold,
    set_rating,
    set_status,
)
from tests.helpers import problem_of
from tests.search.helpers import ORIGIN, all_items, free_slots, north_of, search


def ids_of(body: dict) -> set[str]:
    return {item["id"] for item in body["items"]}


def found(client, **params) -> set[str]:
    body = search(client, per_page=50, **params)
    assert body["total"] == len(body["items"]), params
    return ids_of(body)


def utc_today():
    return datetime.now(UTC).date()


# --- therapy and condition -------------------------------------------------------------------


def test_therapy_filter_finds_only_listings_offering_it(app, client):
    trigger = all_day_listing(app, therapy="trigger-point-therapy")
    needling = all_day_listing(app, therapy="dry-needling")
    chiro = all_day_listing(app, therapy="chiropractic")

    assert found(client, therapy="dry-needling") == {str(needling.id)}
    assert found(client, therapy="chiropractic") == {str(chiro.id)}
    assert found(client, therapy="cupping") == set()
    assert found(client) == {str(trigger.id), str(needling.id), str(chiro.id)}


def test_repeated_therapy_means_any_of_them(app, client, token_for):
    trigger = all_day_listing(app, therapy="trigger-point-therapy")
    needling = all_day_listing(app, therapy="dry-needling")
    all_day_listing(app, therapy="chiropractic")
    add_extra_service(client, token_for(trigger.owner_email), therapy="cupping", price_cents=5000)

    body = search(client, therapy=["dry-needling", "cupping"])
    assert ids_of(body) == {str(trigger.id), str(needling.id)}
    by_id = {item["id"]: item for item in body["items"]}
    # Only the matching services (and their therapies) are shown.
    assert [s["therapy"] for s in by_id[str(trigger.id)]["services"]] == ["cupping"]
    assert [t["slug"] for t in by_id[str(trigger.id)]["therapies"]] == ["cupping"]
    assert [s["therapy"] for s in by_id[str(needling.id)]["services"]] == ["dry-needling"]


def test_condition_finds_listings_offering_a_therapy_linked_to_it(app, client):
    trigger = all_day_listing(app, therapy="trigger-point-therapy")
    needling = all_day_listing(app, therapy="dry-needling")
    chiro = all_day_listing(app, therapy="chiropractic")
    acupuncture = all_day_listing(app, therapy="acupuncture")

    # Buttock pain is treated by trigger point therapy and dry needling, not chiropractic.
    assert found(client, condition="buttock-pain") == {str(trigger.id), str(needling.id)}
    # Sciatica is linked to chiropractic and acupuncture too.
    assert found(client, condition="sciatica") == {
        str(trigger.id),
        str(needling.id),
        str(chiro.id),
        str(acupuncture.id),
    }


def test_condition_and_therapy_must_both_hold_for_one_service(app, client, token_for):
    needling = all_day_listing(app, therapy="dry-needling")
    chiro = all_day_listing(app, therapy="chiropractic")
    both = all_day_listing(app, therapy="chiropractic")
    add_extra_service(client, token_for(both.owner_email), therapy="trigger-point-therapy")

    assert found(client, condition="buttock-pain", therapy="chiropractic") == set()
    assert found(client, condition="buttock-pain", therapy=["dry-needling", "chiropractic"]) == {
        str(needling.id)
    }
    body = search(client, condition="buttock-pain")
    assert ids_of(body) == {str(needling.id), str(both.id)}
    assert str(chiro.id) not in ids_of(body)
    by_id = {item["id"]: item for item in body["items"]}
    # The chiropractic service of `both` is not one that treats buttock pain.
    assert [s["therapy"] for s in by_id[str(both.id)]["services"]] == ["trigger-point-therapy"]


# --- free text -------------------------------------------------------------------------------


def test_q_sciatica_finds_a_trigger_point_therapist_whose_text_never_says_it(app, client):
    trigger = all_day_listing(
        app,
        name="Tessa Pike",
        therapy="trigger-point-therapy",
        headline="Releasing stubborn muscle knots",
        bio="Hands-on care for muscular pain.",
    )
    cupping = all_day_listing(app, name="Colm Reyes", therapy="cupping")

    profile = client.get(f"/api/v1/practitioners/{trigger.slug}").get_json()
    text = " ".join([profile["display_name"], profile["headline"], profile["bio"]]).lower()
    assert "sciatic" not in text

    body = search(client, q="sciatica")
    assert ids_of(body) == {str(trigger.id)}
    assert str(cupping.id) not in ids_of(body)
    # A synonym of a linked condition works as well as its name.
    assert ids_of(search(client, q="pain down the leg")) == {str(trigger.id)}


@pytest.mark.parametrize("q", ["dry needling", "dry needle", "Dry Needling", "DRY NEEDLES"])
def test_q_dry_needling_in_any_form_finds_the_dry_needler(app, client, q):
    needling = all_day_listing(app, name="Dana Voss", therapy="dry-needling")
    all_day_listing(app, name="Carl Ostrander", therapy="chiropractic")
    all_day_listing(app, name="Tim Pearce", therapy="trigger-point-therapy")

    assert found(client, q=q) == {str(needling.id)}


def test_q_matches_name_headline_and_bio(app, client):
    by_name = all_day_listing(app, name="Zephyrine Albers")
    by_headline = all_day_listing(app, name="Hugo Brandt", headline="Zephyrine method for backs")
    by_bio = all_day_listing(app, name="Ines Calder", bio="Trained in the Zephyrine method.")
    all_day_listing(app, name="Otto Dunmore", bio="Nothing to see here.")

    assert found(client, q="zephyrine") == {str(by_name.id), str(by_headline.id), str(by_bio.id)}
    assert found(client, q="Brandt") == {str(by_headline.id)}
    assert found(client, q="zephyrine albers") == {str(by_name.id)}


def test_q_folds_case_and_accents(app, client):
    renee = all_day_listing(app, name="Renée Ångström", headline="Myofascial RELEASE")
    for q in ("renee", "RENÉE", "angstrom", "Ångström", "release", "myofascial release"):
        assert found(client, q=q) == {str(renee.id)}, q


def test_q_ranks_the_name_match_first(app, client):
    # The name match is the least attractive listing otherwise: poorly rated, far from free.
    by_name = all_day_listing(app, name="Marlowe Finch", min_notice_minutes=50 * 24 * 60)
    by_headline = all_day_listing(app, name="Rhea Stone", headline="Marlowe-trained therapist")
    by_bio = all_day_listing(app, name="Saul Tate", bio="Formerly at the Marlowe clinic.")
    set_rating(app, by_name.id, 1.0, 3)
    set_rating(app, by_headline.id, 5.0, 90)
    set_rating(app, by_bio.id, 5.0, 90)

    items = search(client, q="marlowe")["items"]
    assert [item["id"] for item in items] == [str(by_name.id), str(by_headline.id), str(by_bio.id)]
    items = search(client, q="marlowe", sort="relevance")["items"]
    assert items[0]["id"] == str(by_name.id)


def test_q_without_a_match_finds_nothing(app, client):
    all_day_listing(app, name="Petra Lund")
    body = search(client, q="xylophone")
    assert body["items"] == []
    assert body["total"] == 0
    assert body["facets"] == {"therapy": {}, "gender": {}}


@pytest.mark.parametrize(
    "q", ["'", '"', "*", "%", "_", "(", "a OR b", "NEAR(x y)", "-", "é", "the", "  ", "x:y"]
)
def test_q_with_odd_characters_is_never_a_server_error(app, client, q):
    all_day_listing(app, name="Odd Query")
    response = client.get("/api/v1/practitioners", query_string={"q": q})
    assert response.status_code in (200, 422), response.get_data(as_text=True)


# --- position --------------------------------------------------------------------------------


def test_default_radius_is_25_km_and_radius_km_widens_it(app, client):
    near = all_day_listing(app, **north_of(5))
    far = all_day_listing(app, **north_of(30))
    lat, lng = ORIGIN

    body = search(client, lat=lat, lng=lng)
    assert ids_of(body) == {str(near.id)}
    assert body["items"][0]["distance_km"] == pytest.approx(5, abs=0.05)

    body = search(client, lat=lat, lng=lng, radius_km=40, sort="distance")
    assert [item["id"] for item in body["items"]] == [str(near.id), str(far.id)]
    assert [item["distance_km"] for item in body["items"]] == [
        pytest.approx(5, abs=0.05),
        pytest.approx(30, abs=0.05),
    ]
    assert found(client, lat=lat, lng=lng, radius_km=4.9) == set()

    # Without a position there is no distance, and no radius applies.
    body = search(client)
    assert ids_of(body) == {str(near.id), str(far.id)}
    assert {item["distance_km"] for item in body["items"]} == {None}


def test_a_listing_is_as_near_as_its_nearest_location(app, client, token_for):
    listing = all_day_listing(app, **north_of(20))
    coords = north_of(2)
    second = add_location_at(client, token_for(listing.owner_email), **coords)
    lat, lng = ORIGIN

    body = search(client, lat=lat, lng=lng, radius_km=10)
    assert ids_of(body) == {str(listing.id)}
    item = body["items"][0]
    assert item["distance_km"] == pytest.approx(2, abs=0.05)
    assert item["location"]["id"] == second
    assert item["location"]["latitude"] == pytest.approx(coords["latitude"])

    # Seen from near the first location, that one is the nearest.
    first = north_of(21)
    item = search(client, lat=first["latitude"], lng=first["longitude"])["items"][0]
    assert item["location"]["id"] == str(listing.location_id)
    assert item["distance_km"] == pytest.approx(1, abs=0.05)

    # A removed location no longer brings the listing near.
    response = client.delete(
        f"/api/v1/practitioner/locations/{second}", headers=token_for(listing.owner_email)
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    assert found(client, lat=lat, lng=lng, radius_km=10) == set()
    item = search(client, lat=lat, lng=lng)["items"][0]
    assert item["location"]["id"] == str(listing.location_id)
    assert item["distance_km"] == pytest.approx(20, abs=0.05)


def test_distance_crosses_the_antimeridian(app, client):
    fiji = all_day_listing(app, timezone="Pacific/Fiji", latitude=-17.0, longitude=179.95)
    body = search(client, lat=-17.0, lng=-179.95, sort="distance")
    assert ids_of(body) == {str(fiji.id)}
    assert body["items"][0]["distance_km"] == pytest.approx(10.63, abs=0.05)


def test_positions_at_the_poles_and_the_edges_are_accepted(app, client):
    all_day_listing(app)
    for lat, lng in ((90, 0), (-90, 0), (0, 180), (0, -180)):
        assert search(client, lat=lat, lng=lng, radius_km=200)["total"] == 0


# --- available_on ----------------------------------------------------------------------------


def test_available_on_a_day_with_a_free_slot(app, client):
    listing = all_day_listing(app)
    today = utc_today()
    for days in (1, 3, 10):
        assert found(client, available_on=today + timedelta(days=days)) == {str(listing.id)}
    # The past and beyond the 60-day horizon have no free slot.
    assert found(client, available_on=today - timedelta(days=1)) == set()
    assert found(client, available_on=today + timedelta(days=70)) == set()


def test_available_on_excludes_a_day_closed_by_an_override(app, client, token_for):
    listing = all_day_listing(app)
    owner = token_for(listing.owner_email)
    closed = utc_today() + timedelta(days=3)
    response = client.post(
        "/api/v1/practitioner/overrides",
        json={"date": closed.isoformat(), "windows": []},
        headers=owner,
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    assert found(client, available_on=closed) == set()
    assert found(client, available_on=closed + timedelta(days=1)) == {str(listing.id)}

    client.delete(f"/api/v1/practitioner/overrides/{response.get_json()['id']}", headers=owner)
    assert found(client, available_on=closed) == {str(listing.id)}


def test_available_on_excludes_a_day_covered_by_time_off(app, client, token_for):
    listing = all_day_listing(app)
    away = utc_today() + timedelta(days=4)
    start = datetime.combine(away, datetime.min.time(), UTC)
    response = client.post(
        "/api/v1/practitioner/time-off",
        json={
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(days=1)).isoformat(),
            "reason": "Conference",
        },
        headers=token_for(listing.owner_email),
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    assert found(client, available_on=away) == set()
    assert found(client, available_on=away - timedelta(days=1)) == {str(listing.id)}
    assert found(client, available_on=away + timedelta(days=1)) == {str(listing.id)}


def test_available_on_excludes_a_fully_booked_day_until_it_frees_up(app, client, auth, token_for):
    listing = all_day_listing(app)
    day = utc_today() + timedelta(days=5)
    response = client.post(
        "/api/v1/practitioner/overrides",
        json={
            "date": day.isoformat(),
            "windows": [
                {"start": "10:00", "end": "11:00", "location_id": str(listing.location_id)}
            ],
        },
        headers=token_for(listing.owner_email),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    [only] = free_slots(client, listing.slug, listing.service_id, day, day)
    assert found(client, available_on=day) == {str(listing.id)}

    patient = auth("patient")
    booking_id = book_and_pay(client, patient, listing, only["start_at"])["id"]
    assert free_slots(client, listing.slug, listing.service_id, day, day) == []
    assert found(client, available_on=day) == set()

    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=patient)
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert found(client, available_on=day) == {str(listing.id)}

    # An unpaid hold blocks the day too, while it lasts.
    hold(client, patient, listing, only["start_at"])
    assert found(client, available_on=day) == set()


def test_available_on_needs_a_free_slot_for_a_matching_service(app, client, token_for):
    listing = all_day_listing(app, therapy="trigger-point-therapy", duration_minutes=30)
    owner = token_for(listing.owner_email)
    add_extra_service(client, owner, therapy="dry-needling", duration_minutes=90)
    day = utc_today() + timedelta(days=6)
    window = {"start": "10:00", "end": "11:00", "location_id": str(listing.location_id)}
    response = client.post(
        "/api/v1/practitioner/overrides",
        json={"date": day.isoformat(), "windows": [window]},
        headers=owner,
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    # An hour fits the 30-minute service but not the 90-minute one.
    assert found(client, available_on=day) == {str(listing.id)}
    assert found(client, available_on=day, therapy="trigger-point-therapy") == {str(listing.id)}
    assert found(client, available_on=day, therapy="dry-needling") == set()
    assert found(client, available_on=day + timedelta(days=1), therapy="dry-needling") == {
        str(listing.id)
    }


# --- price, gender, language, telehealth -----------------------------------------------------


def test_price_max_needs_a_matching_service_at_or_under_it(app, client, token_for):
    mixed = all_day_listing(app, therapy="trigger-point-therapy", price_cents=12000)
    add_extra_service(client, token_for(mixed.owner_email), therapy="cupping", price_cents=6000)
    cheap = all_day_listing(app, therapy="trigger-point-therapy", price_cents=9000)

    body = search(client, price_max=8000)
    assert ids_of(body) == {str(mixed.id)}
    assert [s["price_cents"] for s in body["items"][0]["services"]] == [6000]
    assert found(client, price_max=9000) == {str(mixed.id), str(cheap.id)}
    assert found(client, price_max=8999) == {str(mixed.id)}
    assert found(client, price_max=8000, therapy="trigger-point-therapy") == set()
    assert found(client, price_max=9000, therapy="trigger-point-therapy") == {str(cheap.id)}
    assert found(client, price_max=0) == set()

    services = search(client, price_max=100000, therapy="trigger-point-therapy")["items"]
    by_id = {item["id"]: item for item in services}
    assert [
        (s["therapy"], s["price_cents"], s["duration_minutes"])
        for s in by_id[str(mixed.id)]["services"]
    ] == [("trigger-point-therapy", 12000, 60)]


def test_gender_language_and_telehealth_filters(app, client):
    female = all_day_listing(app, gender="female", languages=["en", "zh"], telehealth=True)
    male = all_day_listing(app, gender="male", languages=["en"], telehealth=False)
    other = all_day_listing(app, gender="non_binary", languages=["es", "en"], telehealth=False)

    assert found(client, gender="female") == {str(female.id)}
    assert found(client, gender="male") == {str(male.id)}
    assert found(client, gender="non_binary") == {str(other.id)}
    assert found(client, gender="undisclosed") == set()
    assert found(client, language="zh") == {str(female.id)}
    assert found(client, language="es") == {str(other.id)}
    assert found(client, language="en") == {str(female.id), str(male.id), str(other.id)}
    assert found(client, language="fr") == set()
    assert found(client, telehealth="true") == {str(female.id)}
    assert found(client, gender="male", language="zh") == set()


# --- all together ----------------------------------------------------------------------------

KNEE = {
    "therapy": ["physiotherapy", "dry-needling"],
    "condition": "knee-pain",
    "q": "quillon",
    "price_max": 10000,
    "gender": "female",
    "language": "zh",
    "telehealth": "true",
}


@pytest.mark.parametrize("with_available_on", [False, True], ids=["dates-aside", "all"])
def test_every_filter_narrows_and_all_combine(app, client, token_for, with_available_on):
    """A target passes every filter; each decoy fails exactly one of them."""
    target_profile = {
        "name": "Quillon Target",
        "therapy": "physiotherapy",
        "price_cents": 9000,
        "gender": "female",
        "languages": ["en", "zh"],
        "telehealth": True,
        **north_of(3),
    }
    target = all_day_listing(app, **target_profile)
    decoys = {
        # podiatry treats knee pain but is not a wanted therapy.
        "therapy": all_day_listing(app, **{**target_profile, "therapy": "podiatry"}),
        # dry needling is wanted but does not treat knee pain.
        "condition": all_day_listing(app, **{**target_profile, "therapy": "dry-needling"}),
        "q": all_day_listing(app, **{**target_profile, "name": "Other Name"}),
        "position": all_day_listing(app, **{**target_profile, **north_of(40)}),
        "price_max": all_day_listing(app, **{**target_profile, "price_cents": 12000}),
        "gender": all_day_listing(app, **{**target_profile, "gender": "male"}),
        "language": all_day_listing(app, **{**target_profile, "languages": ["en"]}),
        "telehealth": all_day_listing(app, **{**target_profile, "telehealth": False}),
    }
    lat, lng = ORIGIN
    every = {**KNEE, "lat": lat, "lng": lng}
    if with_available_on:
        # Closed on the day asked for.
        day = utc_today() + timedelta(days=2)
        decoys["available_on"] = all_day_listing(app, **target_profile)
        response = client.post(
            "/api/v1/practitioner/overrides",
            json={"date": day.isoformat(), "windows": []},
            headers=token_for(decoys["available_on"].owner_email),
        )
        assert response.status_code == 201
        every["available_on"] = day.isoformat()

    assert found(client, **every) == {str(target.id)}
    for name, decoy in decoys.items():
        dropped = ("lat", "lng") if name == "position" else (name,)
        params = {key: value for key, value in every.items() if key not in dropped}
        assert found(client, **params) == {str(target.id), str(decoy.id)}, name


# --- only approved listings, only active services --------------------------------------------

ANY_QUERY = [
    {},
    {"q": "halvard"},
    {"therapy": "dry-needling"},
    {"condition": "buttock-pain"},
    {"lat": ORIGIN[0], "lng": ORIGIN[1]},
    {"sort": "soonest"},
    {"sort": "rating"},
    {"sort": "price"},
    {"gender": "female"},
    {"language": "en"},
]


@pytest.mark.parametrize(
    "status",
    [ListingStatus.DRAFT, ListingStatus.PENDING, ListingStatus.REJECTED, ListingStatus.SUSPENDED],
)
@pytest.mark.parametrize("with_available_on", [False, True], ids=["dates-aside", "all"])
def test_unapproved_listings_never_appear(app, client, status, with_available_on):
    approved = all_day_listing(
        app, name="Halvard Approved", therapy="dry-needling", gender="female"
    )
    all_day_listing(
        app,
        name=f"Halvard {status.value}",
        therapy="dry-needling",
        gender="female",
        status=status,
        **north_of(1),
    )
    day = utc_today() + timedelta(days=2)
    for params in [*ANY_QUERY, {"available_on": day.isoformat()}]:
        if params.get("available_on") and not with_available_on:
            continue
        body = search(client, **params)
        assert ids_of(body) == {str(approved.id)}, params
        assert body["total"] == 1, params
        assert body["facets"]["gender"] == {"female": 1}, params
        assert body["facets"]["therapy"] == {"dry-needling": 1}, params


def test_suspending_hides_a_listing_and_reinstating_shows_it(app, client, auth):
    listing = all_day_listing(app, name="Halvard Suspended", therapy="dry-needling")
    admin = auth("admin")
    assert found(client, q="halvard") == {str(listing.id)}

    response = client.post(
        f"/api/v1/admin/listings/{listing.id}/suspend", json={"reason": "Checks"}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    for params in ANY_QUERY:
        assert search(client, **params)["total"] == 0, params

    response = client.post(f"/api/v1/admin/listings/{listing.id}/reinstate", headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert found(client, q="halvard") == {str(listing.id)}

    set_status(app, listing.id, ListingStatus.PENDING)
    assert found(client, q="halvard") == set()


def test_an_inactive_service_matches_nothing(app, client, token_for):
    listing = all_day_listing(app, name="Ilse Moreno", therapy="trigger-point-therapy")
    owner = token_for(listing.owner_email)
    needling = add_extra_service(client, owner, therapy="dry-needling", price_cents=3000)
    assert found(client, therapy="dry-needling") == {str(listing.id)}

    response = client.patch(
        f"/api/v1/practitioner/services/{needling}", json={"active": False}, headers=owner
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    assert found(client, therapy="dry-needling") == set()
    assert found(client, q="dry needling") == set()
    assert found(client, price_max=5000) == set()
    body = search(client)
    assert [s["therapy"] for s in body["items"][0]["services"]] == ["trigger-point-therapy"]
    assert body["facets"]["therapy"] == {"trigger-point-therapy": 1}


def test_a_deleted_service_matches_nothing(app, client, token_for):
    listing = all_day_listing(app, therapy="trigger-point-therapy")
    owner = token_for(listing.owner_email)
    cupping = add_extra_service(client, owner, therapy="cupping")
    response = client.delete(f"/api/v1/practitioner/services/{cupping}", headers=owner)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert found(client, therapy="cupping") == set()
    assert found(client) == {str(listing.id)}


# --- facets ----------------------------------------------------------------------------------


def test_facets_count_the_results_of_the_current_filters(app, client, token_for):
    listings = [
        all_day_listing(app, therapy="dry-needling", gender="female", **north_of(2)),
        all_day_listing(app, therapy="dry-needling", gender="male", **north_of(4)),
        all_day_listing(app, therapy="trigger-point-therapy", gender="female", **north_of(30)),
        all_day_listing(app, therapy="chiropractic", gender="undisclosed", **north_of(6)),
        all_day_listing(app, therapy="cupping", gender="non_binary", **north_of(8)),
    ]
    add_extra_service(client, token_for(listings[0].owner_email), therapy="cupping")
    add_extra_service(client, token_for(listings[3].owner_email), therapy="dry-needling")
    lat, lng = ORIGIN

    assert search(client)["facets"] == {
        "therapy": {
            "dry-needling": 3,
            "trigger-point-therapy": 1,
            "chiropractic": 1,
            "cupping": 2,
        },
        "gender": {"female": 2, "male": 1, "undisclosed": 1, "non_binary": 1},
    }
    for params in (
        {},
        {"gender": "female"},
        {"lat": lat, "lng": lng},
        {"condition": "buttock-pain"},
        {"q": "needling"},
        {"therapy": ["cupping", "chiropractic"]},
        {"price_max": 12000, "language": "en"},
    ):
        body = search(client, per_page=2, **params)
        items = all_items(client, per_page=2, **params)
        therapies = Counter(t["slug"] for item in items for t in item["therapies"])
        genders = Counter(item["gender"] for item in items)
        assert body["facets"] == {"therapy": dict(therapies), "gender": dict(genders)}, params
        assert body["total"] == len(items), params


def test_a_filter_value_that_matches_nothing_is_not_an_error(app, client):
    all_day_listing(app)
    body = search(client, therapy="hand-therapy", condition="migraine")
    assert (body["items"], body["total"]) == ([], 0)


def test_an_unknown_therapy_among_known_ones_is_refused(app, client):
    all_day_listing(app)
    response = client.get(
        "/api/v1/practitioners", query_string={"therapy": ["dry-needling", "reiki-healing"]}
    )
    body = problem_of(response, 422)
    assert "therapy" in body["errors"]

from tests.factories import create_listing


def test_search_finds_an_approved_listing_by_condition_and_text(app, client):
    listing = create_listing(
        app, therapy="dry-needling", weekly_hours=[(d, "09:00", "17:00") for d in range(7)]
    )
    for params in (
        {},
        {"q": "sciatica"},
        {"q": "dry needle"},
        {"condition": "buttock-pain"},
        {"lat": -33.88, "lng": 151.21, "sort": "distance"},
        {"sort": "soonest"},
        {"sort": "price"},
        {"sort": "rating"},
        {"therapy": "dry-needling"},
    ):
        response = client.get("/api/v1/practitioners", query_string=params)
        assert response.status_code == 200, (params, response.get_json())
        body = response.get_json()
        assert [item["id"] for item in body["items"]] == [str(listing.id)], params
        assert body["facets"]["therapy"] == {"dry-needling": 1}
        assert body["items"][0]["next_available_at"]
    response = client.get("/api/v1/practitioners", query_string={"q": "chiropractic"})
    assert response.get_json()["total"] == 0

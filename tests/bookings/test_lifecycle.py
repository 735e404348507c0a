"""The booking lifecycle over HTTP: hold, checkout, cancel, reschedule, complete, audit trail."""

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.bookings.models import Booking
from tests.bookings.helpers import INTERVAL, at, audit_actions, fetch, is_offered, iso
from tests.factories import (
    all_day_listing,
    book,
    book_and_pay,
    far_start,
    grid_start,
    hold,
    lapse_hold,
    pay,
)
from tests.helpers import count_rows, parse, problem_of, stored

HOUR = timedelta(hours=1)
NEAR = timedelta(hours=3)  # inside it

BOOKING_FIELDS = {
    "id",
    "status",
    "practitioner_id",
    "service_id",
    "location_id",
    "start_at",
    "end_at",
    "price_cents",
    "platform_fee_cents",
    "refund_cents",
    "currency",
    "hold_expires_at",
}


@pytest.fixture
def listing(app):
    return all_day_listing(
        app, price_cents=12345, free_cancellation_hours=24, late_cancellation_fee_percent=25
    )


@pytest.fixture
def patient(auth):
    return auth("patient")


@pytest.fixture
def practitioner(token_for, listing):
    return token_for(listing.owner_email)


@pytest.fixture
def admin(auth):
    return auth("admin")


def freeze_bookings_clock(monkeypatch, instant: datetime) -> None:
    monkeypatch.setattr("marketplace.bookings.routes.utc_now", at(instant))


# --- creation ------------------------------------------------------------------------------


def test_create_holds_the_slot_and_returns_a_checkout_url(app, client, patient, listing):
    start = far_start()
    rows = count_rows(app, Booking)
    before = datetime.now(UTC)
    response = book(client, patient, listing, start)
    after = datetime.now(UTC)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    booking = body["booking"]
    assert booking.keys() >= BOOKING_FIELDS
    assert booking["status"] == "held"
    assert booking["practitioner_id"] == str(listing.id)
    assert booking["service_id"] == str(listing.service_id)
    assert booking["location_id"] == str(listing.location_id)
    assert parse(booking["start_at"]) == start
    assert parse(booking["end_at"]) == start + HOUR
    assert booking["price_cents"] == 12345
    assert booking["platform_fee_cents"] == 1235
    assert booking["refund_cents"] == 0
    assert booking["currency"] == "AUD"
    expires = parse(booking["hold_expires_at"])
    assert before + timedelta(minutes=15) <= expires <= after + timedelta(minutes=15)
    assert body["checkout_url"].startswith("http://localhost/checkout/sim_cs_")

    assert count_rows(app, Booking) == rows + 1
    row = stored(app, booking["id"])
    assert row.status.value == "held"
    assert row.platform_fee_cents == 1235
    assert not is_offered(client, listing, start)


@pytest.mark.parametrize(
    ("price", "fee"),
    [(12345, 1235), (12000, 1200), (5, 1), (4, 0), (15, 2), (14, 1), (0, 0)],
)
def test_platform_fee_is_ten_percent_rounded_half_up(app, client, auth, price, fee):
    listing = all_day_listing(app, price_cents=price)
    created = hold(client, auth("patient"), listing, far_start())
    assert created["booking"]["price_cents"] == price
    assert created["booking"]["platform_fee_cents"] == fee
    assert stored(app, created["booking"]["id"]).platform_fee_cents == fee


def test_second_patient_on_a_held_slot_gets_409(app, client, auth, patient, listing):
    start = far_start()
    first = hold(client, patient, listing, start)
    rows = count_rows(app, Booking)

    response = book(client, auth("patient"), listing, start)

    problem_of(response, 409)
    assert count_rows(app, Booking) == rows
    assert stored(app, first["booking"]["id"]).status.value == "held"


def test_a_lapsed_hold_stops_blocking_at_once(app, client, auth, admin, patient, listing):
    start = far_start()
    first = hold(client, patient, listing, start)
    assert not is_offered(client, listing, start)

    lapse_hold(app, first["booking"]["id"])

    assert is_offered(client, listing, start)
    other = auth("patient")
    second = book(client, other, listing, start)
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["booking"]["status"] == "held"
    assert fetch(client, patient, first["booking"]["id"])["status"] == "expired"
    assert not is_offered(client, listing, start)
    assert audit_actions(client, admin, first["booking"]["id"]) == [
        "booking.hold",
        "booking.expire",
    ]


def test_abandoning_checkout_expires_the_hold_and_frees_the_slot(
    app, client, admin, patient, listing
):
    start = far_start()
    created = hold(client, patient, listing, start)

    response = client.post(created["checkout_url"], data={"action": "cancel"})

    assert response.status_code == 303
    booking = fetch(client, patient, created["booking"]["id"])
    assert booking["status"] == "expired"
    assert parse(booking["hold_expires_at"]) <= datetime.now(UTC)
    assert stored(app, booking["id"]).paid_at is None
    assert is_offered(client, listing, start)
    assert audit_actions(client, admin, booking["id"]) == ["booking.hold", "booking.expire"]


# --- the simulated checkout page ------------------------------------------------------------


def test_checkout_page_shows_the_amount(client, patient, listing):
    created = hold(client, patient, listing, far_start())
    page = client.get(created["checkout_url"])
    assert page.status_code == 200
    assert b"123.45 AUD" in page.data
    assert b'value="pay"' in page.data


def test_paying_on_the_checkout_page_confirms(app, client, patient, listing):
    start = far_start()
    created = hold(client, patient, listing, start)

    pay(client, created["checkout_url"])

    booking = fetch(client, patient, created["booking"]["id"])
    assert booking["status"] == "confirmed"
    assert booking["refund_cents"] == 0
    assert stored(app, booking["id"]).paid_at is not None
    assert not is_offered(client, listing, start)


def test_checkout_with_an_unknown_session_is_404(app, client):
    rows = count_rows(app, Booking)
    assert client.get("/checkout/sim_cs_doesnotexist").status_code == 404
    response = client.post("/checkout/sim_cs_doesnotexist", data={"action": "pay"})
    assert response.status_code == 404
    assert count_rows(app, Booking) == rows


def test_checkout_with_an_unknown_action_is_400_and_changes_nothing(
    app, client, admin, patient, listing
):
    created = hold(client, patient, listing, far_start())

    response = client.post(created["checkout_url"], data={"action": "bogus"})

    assert response.status_code == 400
    assert fetch(client, patient, created["booking"]["id"])["status"] == "held"
    assert stored(app, created["booking"]["id"]).paid_at is None
    assert audit_actions(client, admin, created["booking"]["id"]) == ["booking.hold"]


def test_paying_twice_is_harmless(app, client, admin, patient, listing):
    created = hold(client, patient, listing, far_start())
    pay(client, created["checkout_url"])
    paid_at = stored(app, created["booking"]["id"]).paid_at

    pay(client, created["checkout_url"])

    booking = fetch(client, patient, created["booking"]["id"])
    assert booking["status"] == "confirmed"
    assert booking["refund_cents"] == 0
    assert stored(app, booking["id"]).paid_at == paid_at
    actions = audit_actions(client, admin, booking["id"])
    assert actions.count("payment.capture") == 1
    assert actions.count("booking.confirm") == 1


def test_abandoning_after_paying_changes_nothing(app, client, admin, patient, listing):
    start = far_start()
    created = hold(client, patient, listing, start)
    pay(client, created["checkout_url"])

    response = client.post(created["checkout_url"], data={"action": "cancel"})

    assert response.status_code == 303
    booking = fetch(client, patient, created["booking"]["id"])
    assert booking["status"] == "confirmed"
    assert booking["refund_cents"] == 0
    assert not is_offered(client, listing, start)
    assert "booking.expire" not in audit_actions(client, admin, booking["id"])


# --- cancellation ---------------------------------------------------------------------------


def cancel(client, headers, booking_id, reason: str = "Something came up"):
    return client.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"reason": reason}, headers=headers
    )


def test_patient_cancelling_outside_the_window_is_refunded_in_full(app, client, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)

    response = cancel(client, patient, booking["id"])

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == booking["id"]
    assert body["status"] == "cancelled"
    assert body["refund_cents"] == 12345
    row = stored(app, booking["id"])
    assert row.refund_cents == 12345
    assert row.cancellation_reason == "Something came up"
    assert row.cancelled_at is not None
    assert is_offered(client, listing, start)


@pytest.mark.parametrize(
    ("price", "fee_percent", "refund"),
    [(12345, 25, 9259), (12345, 50, 6172), (12000, 50, 6000), (12000, 0, 12000), (999, 100, 0)],
)
def test_patient_cancelling_inside_the_window_pays_the_late_fee(
    app, client, auth, price, fee_percent, refund
):
    listing = all_day_listing(
        app,
        price_cents=price,
        free_cancellation_hours=24,
        late_cancellation_fee_percent=fee_percent,
    )
    patient = auth("patient")
    start = grid_start(NEAR)
    booking = book_and_pay(client, patient, listing, start)

    response = cancel(client, patient, booking["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["refund_cents"] == refund
    assert stored(app, booking["id"]).refund_cents == refund
    assert is_offered(client, listing, start)


def test_cancelling_exactly_at_the_window_edge_is_still_free(
    app, client, patient, listing, monkeypatch
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start - timedelta(hours=24))

    response = cancel(client, patient, booking["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refund_cents"] == 12345


def test_cancelling_a_second_inside_the_window_is_late(app, client, patient, listing, monkeypatch):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start - timedelta(hours=24) + timedelta(seconds=1))

    response = cancel(client, patient, booking["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refund_cents"] == 9259


@pytest.mark.parametrize("after_start", [timedelta(0), timedelta(minutes=1)])
def test_patient_cannot_cancel_at_or_after_the_start(
    app, client, patient, listing, monkeypatch, after_start
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + after_start)

    problem_of(cancel(client, patient, booking["id"]), 409)

    row = stored(app, booking["id"])
    assert row.status.value == "confirmed"
    assert row.refund_cents == 0
    assert row.cancelled_at is None


def test_practitioner_cancelling_inside_the_window_refunds_in_full(
    app, client, patient, practitioner, listing
):
    start = grid_start(NEAR)
    booking = book_and_pay(client, patient, listing, start)

    response = cancel(client, practitioner, booking["id"], "Clinic closed")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["refund_cents"] == 12345
    row = stored(app, booking["id"])
    assert row.refund_cents == 12345
    assert row.cancelled_by_id == listing.owner_id
    assert is_offered(client, listing, start)


def test_cancelling_a_held_booking_refunds_nothing_and_frees_the_slot(
    app, client, patient, listing
):
    start = far_start()
    created = hold(client, patient, listing, start)

    response = cancel(client, patient, created["booking"]["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["refund_cents"] == 0
    assert stored(app, created["booking"]["id"]).refund_cents == 0
    assert is_offered(client, listing, start)


def test_cancelling_twice_is_409(app, client, admin, patient, listing):
    booking = book_and_pay(client, patient, listing, far_start())
    assert cancel(client, patient, booking["id"]).status_code == 200
    actions = audit_actions(client, admin, booking["id"])

    problem_of(cancel(client, patient, booking["id"]), 409)

    assert stored(app, booking["id"]).refund_cents == 12345
    assert audit_actions(client, admin, booking["id"]) == actions


def test_cancelling_an_expired_hold_is_409(app, client, patient, listing):
    created = hold(client, patient, listing, far_start())
    client.post(created["checkout_url"], data={"action": "cancel"})

    problem_of(cancel(client, patient, created["booking"]["id"]), 409)

    row = stored(app, created["booking"]["id"])
    assert row.status.value == "expired"
    assert row.cancelled_at is None


def test_practitioner_cannot_cancel_a_completed_booking(
    app, client, patient, practitioner, listing, monkeypatch
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + 2 * HOUR)
    assert finish(client, practitioner, booking["id"], "complete").status_code == 200

    problem_of(cancel(client, practitioner, booking["id"]), 409)

    row = stored(app, booking["id"])
    assert row.status.value == "completed"
    assert row.refund_cents == 0


def test_admin_cannot_cancel(app, client, admin, patient, listing):
    booking = book_and_pay(client, patient, listing, far_start())
    problem_of(cancel(client, admin, booking["id"]), 403)
    assert stored(app, booking["id"]).status.value == "confirmed"


def test_another_patient_cannot_cancel(app, client, auth, patient, listing):
    booking = book_and_pay(client, patient, listing, far_start())
    problem_of(cancel(client, auth("patient"), booking["id"]), 404)
    assert stored(app, booking["id"]).status.value == "confirmed"


def test_another_practitioner_cannot_cancel(app, client, patient, listing, token_for):
    booking = book_and_pay(client, patient, listing, far_start())
    other = all_day_listing(app)
    problem_of(cancel(client, token_for(other.owner_email), booking["id"]), 404)
    assert stored(app, booking["id"]).status.value == "confirmed"


# --- reschedule -----------------------------------------------------------------------------


def reschedule(client, headers, booking_id, start):
    value = iso(start) if isinstance(start, datetime) else start
    return client.post(
        f"/api/v1/bookings/{booking_id}/reschedule", json={"start_at": value}, headers=headers
    )


def test_patient_reschedules_outside_the_window(app, client, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    new_start = start + 2 * HOUR

    response = reschedule(client, patient, booking["id"], new_start)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == booking["id"]
    assert body["status"] == "confirmed"
    assert parse(body["start_at"]) == new_start
    assert parse(body["end_at"]) == new_start + HOUR
    assert body["price_cents"] == 12345
    assert body["platform_fee_cents"] == 1235
    assert body["refund_cents"] == 0
    row = stored(app, booking["id"])
    assert row.start_at == new_start
    assert row.end_at == new_start + HOUR
    assert is_offered(client, listing, start)
    assert not is_offered(client, listing, new_start)


def test_reschedule_by_one_interval_overlapping_itself(app, client, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)

    response = reschedule(client, patient, booking["id"], start + INTERVAL)

    assert response.status_code == 200, response.get_json()
    assert parse(response.get_json()["start_at"]) == start + INTERVAL
    assert stored(app, booking["id"]).start_at == start + INTERVAL
    assert not is_offered(client, listing, start + INTERVAL)
    assert is_offered(client, listing, start + 3 * HOUR)


def test_reschedule_inside_the_window_is_409(app, client, patient, listing):
    start = grid_start(NEAR)
    booking = book_and_pay(client, patient, listing, start)

    problem_of(reschedule(client, patient, booking["id"], far_start()), 409)

    assert stored(app, booking["id"]).start_at == start


def test_reschedule_to_a_taken_slot_is_409(app, client, auth, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    taken = start + 3 * HOUR
    hold(client, auth("patient"), listing, taken)

    problem_of(reschedule(client, patient, booking["id"], taken), 409)

    row = stored(app, booking["id"])
    assert row.start_at == start
    assert row.status.value == "confirmed"
    assert not is_offered(client, listing, start)


# Four days back from far_start() (three days ahead) is yesterday, whatever the time of day.
@pytest.mark.parametrize("minutes", [7, -4 * 24 * 60])
def test_reschedule_off_the_grid_or_into_the_past_is_409(app, client, patient, listing, minutes):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)

    target = start + timedelta(minutes=minutes)
    problem_of(reschedule(client, patient, booking["id"], target), 409)

    assert stored(app, booking["id"]).start_at == start
    assert not is_offered(client, listing, start)


def test_reschedule_of_a_cancelled_booking_is_409(app, client, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    assert cancel(client, patient, booking["id"]).status_code == 200

    problem_of(reschedule(client, patient, booking["id"], start + 2 * HOUR), 409)

    row = stored(app, booking["id"])
    assert row.status.value == "cancelled"
    assert row.start_at == start
    assert is_offered(client, listing, start + 2 * HOUR)


def test_practitioner_cannot_reschedule(app, client, patient, practitioner, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    problem_of(reschedule(client, practitioner, booking["id"], start + 2 * HOUR), 403)
    assert stored(app, booking["id"]).start_at == start


def test_another_patient_cannot_reschedule(app, client, auth, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    problem_of(reschedule(client, auth("patient"), booking["id"], start + 2 * HOUR), 404)
    assert stored(app, booking["id"]).start_at == start


def test_reschedule_with_a_naive_start_is_422(app, client, patient, listing):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    naive = (start + 2 * HOUR).replace(tzinfo=None).isoformat()

    body = problem_of(reschedule(client, patient, booking["id"], naive), 422)

    assert "start_at" in body["errors"]
    assert stored(app, booking["id"]).start_at == start


# --- complete and no-show -------------------------------------------------------------------


def finish(client, headers, booking_id, outcome: str):
    return client.post(f"/api/v1/bookings/{booking_id}/{outcome}", headers=headers)


@pytest.mark.parametrize(("outcome", "status"), [("complete", "completed"), ("no-show", "no_show")])
def test_practitioner_finishes_after_the_start(
    app, client, patient, practitioner, listing, monkeypatch, outcome, status
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))

    response = finish(client, practitioner, booking["id"], outcome)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == status
    row = stored(app, booking["id"])
    assert row.status.value == status
    assert row.completed_at is not None


@pytest.mark.parametrize("outcome", ["complete", "no-show"])
def test_finishing_before_the_start_is_409(app, client, patient, practitioner, listing, outcome):
    booking = book_and_pay(client, patient, listing, far_start())
    problem_of(finish(client, practitioner, booking["id"], outcome), 409)
    assert stored(app, booking["id"]).status.value == "confirmed"


@pytest.mark.parametrize("outcome", ["complete", "no-show"])
def test_finishing_a_held_booking_is_409(
    app, client, patient, practitioner, listing, monkeypatch, outcome
):
    start = grid_start(NEAR)
    created = hold(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))
    problem_of(finish(client, practitioner, created["booking"]["id"], outcome), 409)
    assert stored(app, created["booking"]["id"]).status.value == "held"


@pytest.mark.parametrize("outcome", ["complete", "no-show"])
def test_finishing_a_cancelled_booking_is_409(
    app, client, patient, practitioner, listing, monkeypatch, outcome
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    assert cancel(client, patient, booking["id"]).status_code == 200
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))
    problem_of(finish(client, practitioner, booking["id"], outcome), 409)
    assert stored(app, booking["id"]).status.value == "cancelled"


@pytest.mark.parametrize("outcome", ["complete", "no-show"])
def test_patient_cannot_finish(app, client, patient, listing, monkeypatch, outcome):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))
    problem_of(finish(client, patient, booking["id"], outcome), 403)
    assert stored(app, booking["id"]).status.value == "confirmed"


@pytest.mark.parametrize("outcome", ["complete", "no-show"])
def test_another_practitioner_cannot_finish(
    app, client, patient, listing, token_for, monkeypatch, outcome
):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    other = all_day_listing(app)
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))
    problem_of(finish(client, token_for(other.owner_email), booking["id"], outcome), 404)
    assert stored(app, booking["id"]).status.value == "confirmed"


# --- audit trail ----------------------------------------------------------------------------


def test_every_change_and_money_movement_is_audited(app, client, admin, patient, listing):
    start = far_start()
    created = hold(client, patient, listing, start)
    booking_id = created["booking"]["id"]
    assert audit_actions(client, admin, booking_id) == ["booking.hold"]

    pay(client, created["checkout_url"])
    assert reschedule(client, patient, booking_id, start + 2 * HOUR).status_code == 200
    assert cancel(client, patient, booking_id).status_code == 200

    actions = audit_actions(client, admin, booking_id)
    assert actions[:4] == [
        "booking.hold",
        "payment.capture",
        "booking.confirm",
        "booking.reschedule",
    ]
    assert sorted(actions[4:]) == ["booking.cancel", "payment.refund"]

    response = client.get(
        "/api/v1/admin/audit",
        query_string={
            "target_type": "booking",
            "target_id": booking_id,
            "action": "payment.refund",
        },
        headers=admin,
    )
    (refund_entry,) = response.get_json()["items"]
    assert refund_entry["after"]["refund_cents"] == 12345
    assert refund_entry["after"]["amount_cents"] == 12345
    assert refund_entry["before"]["refund_cents"] == 0


def test_completion_is_audited(app, client, admin, patient, practitioner, listing, monkeypatch):
    start = far_start()
    booking = book_and_pay(client, patient, listing, start)
    freeze_bookings_clock(monkeypatch, start + timedelta(minutes=5))
    assert finish(client, practitioner, booking["id"], "complete").status_code == 200

    actions = audit_actions(client, admin, booking["id"])
    assert actions == ["booking.hold", "payment.capture", "booking.confirm", "booking.completed"]
    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_id": booking["id"], "action": "booking.completed"},
        headers=admin,
    )
    (entry,) = response.get_json()["items"]
    assert entry["actor_id"] == str(listing.owner_id)
    assert entry["before"]["status"] == "confirmed"
    assert entry["after"]["status"] == "completed"


def test_late_cancellation_refund_is_audited_with_its_amount(app, client, admin, patient, listing):
    booking = book_and_pay(client, patient, listing, grid_start(NEAR))
    assert cancel(client, patient, booking["id"]).status_code == 200

    response = client.get(
        "/api/v1/admin/audit",
        query_string={"target_id": booking["id"], "action": "payment.refund"},
        headers=admin,
    )
    (entry,) = response.get_json()["items"]
    assert entry["after"]["amount_cents"] == 9259
    assert entry["after"]["refund_cents"] == 9259

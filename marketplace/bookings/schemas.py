import marshmallow as ma
from marshmallow import validate

from marketplace.bookings.models import BookingStatus
from marketplace.fields import CalendarDate, Instant, StrictString
from marketplace.pagination import PageArgs


class BookingCreateSchema(ma.Schema):
    service_id = ma.fields.UUID(required=True)
    start_at = Instant(required=True)
    location_id = ma.fields.UUID(load_default=None, allow_none=True)


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other request header

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", load_default=None, validate=validate.Length(1, 255)
    )


class BookingSchema(ma.Schema):
    id = ma.fields.UUID()
    status = ma.fields.Enum(BookingStatus, by_value=True)
    patient_id = ma.fields.UUID()
    practitioner_id = ma.fields.UUID()
    service_id = ma.fields.UUID()
    location_id = ma.fields.UUID(allow_none=True)
    start_at = ma.fields.AwareDateTime()
    end_at = ma.fields.AwareDateTime()
    price_cents = ma.fields.Integer()
    platform_fee_cents = ma.fields.Integer()
    refund_cents = ma.fields.Integer()
    currency = ma.fields.String()
    hold_expires_at = ma.fields.AwareDateTime(allow_none=True)
    checkout_url = ma.fields.Method("pending_checkout_url", allow_none=True)
    created_at = ma.fields.AwareDateTime()
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    cancellation_reason = ma.fields.String(allow_none=True)
    disputed = ma.fields.Function(lambda booking: booking.disputed_at is not None)

    def pending_checkout_url(self, booking):
        return booking.checkout_url if booking.status is BookingStatus.HELD else None


class BookingCreatedSchema(ma.Schema):
    booking = ma.fields.Nested(BookingSchema)
    checkout_url = ma.fields.String()


class BookingListArgs(PageArgs):
    status = ma.fields.Enum(BookingStatus, by_value=True)
    start_from = Instant(data_key="from")
    start_to = Instant(data_key="to")


class CalendarArgs(PageArgs):
    from_date = CalendarDate(data_key="from")
    to_date = CalendarDate(data_key="to")
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=50))


class CancelSchema(ma.Schema):
    reason = StrictString(load_default="", validate=validate.Length(max=1000))


class RescheduleSchema(ma.Schema):
    start_at = Instant(required=True)

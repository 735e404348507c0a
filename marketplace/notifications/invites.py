"""iCalendar (RFC 5546 iTIP) invites mailed with booking emails: REQUEST and CANCEL.

The UID is the booking's (the same as in the practitioner's feed and the "Add to calendar"
file), so a calendar updates one event; SEQUENCE grows with every reschedule and cancel.
"""

from datetime import datetime
from email.utils import parseaddr
from typing import Any

from icalendar import vCalAddress, vText

from marketplace.availability.calendar import booking_event, new_calendar

REQUEST, CANCEL = "REQUEST", "CANCEL"


def _address(email: str, name: str | None, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def booking_invite(
    *,
    booking: Any,
    method: str,
    summary: str,
    description: str,
    location: Any,
    organizer: str,
    patient_email: str,
    patient_name: str,
    now: datetime,
) -> str:
    """The invite for the booking as it stands; `method` REQUEST (new or moved) or CANCEL."""
    calendar = new_calendar(method)
    event = booking_event(booking, summary, location, now)
    event.add("sequence", booking.calendar_sequence or 0)
    event.add("description", description)
    if method == CANCEL:
        event.pop("status")
        event.add("status", "CANCELLED")
    organizer_name, organizer_email = parseaddr(organizer)
    event.add("organizer", _address(organizer_email, organizer_name))
    event.add(
        "attendee",
        _address(
            patient_email,
            patient_name,
            role="REQ-PARTICIPANT",
            partstat="ACCEPTED",
            rsvp="FALSE",
        ),
    )
    calendar.add_component(event)
    return calendar.to_ical().decode()

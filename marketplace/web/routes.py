"""Server-rendered pages."""

from flask import Blueprint, render_template

bp = Blueprint("web", __name__)


@bp.route("/")
def home():
    return render_template("pages/home.html")


@bp.route("/bookings/<uuid:booking_id>/done")
def booking_done(booking_id):
    """Where the payment page sends the patient back to; the booking's state is in the API."""
    return render_template("pages/booking_done.html", booking_id=booking_id)

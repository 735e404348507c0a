"""Sign-up, sign-in and sign-out on the Flask-Login session the API uses too."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from marketplace.accounts import service as accounts
from marketplace.accounts.models import Role
from marketplace.accounts.routes import CREDENTIAL_LIMIT
from marketplace.accounts.schemas import CredentialsSchema, MeUpdateSchema, RegisterSchema
from marketplace.errors import DomainError
from marketplace.extensions import db, limiter
from marketplace.practitioners.service import sign_up
from marketplace.web import patient
from marketplace.web.common import (
    errors_of,
    load_form,
    page_for,
    protect_form,
    render_form,
    safe_next,
)

bp = Blueprint("auth_pages", __name__)
bp.before_request(protect_form)


def _next() -> str | None:
    return safe_next(request.values.get("next"))


def _home_of(user) -> str:
    if user.role is Role.PRACTITIONER:
        return url_for("dashboard.overview")
    if user.role is Role.ADMIN:
        return url_for("admin_pages.listings")
    return url_for("web.home")


def _continue(user):
    """Back where sign-in was asked for; a slot chosen while signed out is booked now."""
    target = _next()
    if target is None:
        return redirect(_home_of(user), 303)
    return patient.continue_after_sign_in(target)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(CREDENTIAL_LIMIT, methods=["POST"])
def signup():
    values = request.form if request.method == "POST" else {"role": request.args.get("role")}
    if request.method == "GET":
        return render_template("pages/auth/signup.html", values=values, errors={}, next=_next())
    data, errors = load_form(RegisterSchema())
    if not errors:
        try:
            user = sign_up(**data)
        except DomainError as error:
            db.session.rollback()
            errors = errors_of(error)
        else:
            login_user(user)
            db.session.commit()
            return _continue(user)
    return render_form("pages/auth/signup.html", errors, values=values, next=_next())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(CREDENTIAL_LIMIT, methods=["POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated and _next() is None:
            return redirect(_home_of(current_user), 303)
        return render_template("pages/auth/login.html", values={}, errors={}, next=_next())
    data, errors = load_form(CredentialsSchema())
    if not errors:
        try:
            user = accounts.authenticate(data["email"], data["password"])
        except accounts.InvalidCredentials:
            errors = {"_schema": ["Wrong email or password."]}
        else:
            login_user(user)
            db.session.commit()
            return _continue(user)
    values = {"email": request.form.get("email", "")}
    return render_form("pages/auth/login.html", errors, values=values, next=_next())


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("web.home"), 303)


@bp.route("/account", methods=["GET", "POST"])
@page_for()
def account():
    """The signed-in user's own settings, as `PATCH /api/v1/me` changes them."""
    if request.method == "GET":
        values = {"email_reminders": current_user.email_reminders}
        return render_template("pages/auth/account.html", values=values, errors={})
    data, errors = load_form(MeUpdateSchema())
    if errors:
        return render_form("pages/auth/account.html", errors, values=request.form)
    accounts.update_settings(current_user, data)
    db.session.commit()
    flash("Your settings are saved.", "success")
    return redirect(url_for("auth_pages.account"), 303)

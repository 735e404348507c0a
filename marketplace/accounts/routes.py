import uuid

from flask.views import MethodView
from flask_login import current_user, login_user, logout_user
from flask_smorest import Blueprint, abort

from marketplace.accounts import service
from marketplace.accounts.auth import login_required
from marketplace.accounts.schemas import (
    CredentialsSchema,
    IssuedTokenSchema,
    MeSchema,
    MeUpdateSchema,
    RegisterSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from marketplace.extensions import db, limiter
from marketplace.pagination import PageArgs, page_of, paginate
from marketplace.practitioners.service import sign_up

bp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and sign-in")

CREDENTIAL_LIMIT = "10 per minute"


def _authenticate_or_401(email: str, password: str):
    try:
        return service.authenticate(email, password)
    except service.InvalidCredentials:
        abort(401, message="Wrong email or password.")


@bp.route("/auth/register", methods=["POST"])
@limiter.limit(CREDENTIAL_LIMIT)
@bp.arguments(RegisterSchema)
@bp.response(201, UserSchema)
def register(data):
    user = sign_up(**data)
    db.session.commit()
    return user


@bp.route("/auth/login", methods=["POST"])
@limiter.limit(CREDENTIAL_LIMIT)
@bp.arguments(CredentialsSchema)
@bp.response(200, UserSchema)
def login(data):
    user = _authenticate_or_401(data["email"], data["password"])
    login_user(user)
    db.session.commit()
    return user


@bp.route("/auth/logout", methods=["POST"])
@bp.response(204)
def logout():
    logout_user()


@bp.route("/auth/tokens")
class Tokens(MethodView):
    @login_required
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(TokenSchema))
    def get(self, args):
        return paginate(service.active_tokens(current_user), **args)

    @limiter.limit(CREDENTIAL_LIMIT)
    @bp.arguments(TokenRequestSchema)
    @bp.response(201, IssuedTokenSchema)
    def post(self, data):
        user = _authenticate_or_401(data["email"], data["password"])
        token, plain = service.issue_token(user, data["name"])
        db.session.commit()
        return {
            "id": token.id,
            "name": token.name,
            "created_at": token.created_at,
            "last_used_at": None,
            "token": plain,
        }


@bp.route("/auth/tokens/<uuid:token_id>", methods=["DELETE"])
@login_required
@bp.response(204)
def revoke_token(token_id: uuid.UUID):
    service.revoke_token(current_user, token_id)
    db.session.commit()


@bp.route("/me")
class Me(MethodView):
    @login_required
    @bp.response(200, MeSchema)
    def get(self):
        return current_user

    @login_required
    @bp.arguments(MeUpdateSchema)
    @bp.response(200, MeSchema)
    def patch(self, data):
        """Change your own settings: `{"email_reminders": false}` stops reminder emails."""
        service.update_settings(current_user, data)
        db.session.commit()
        return current_user

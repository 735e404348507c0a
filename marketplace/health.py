import sqlalchemy as sa
from flask_smorest import Blueprint, abort

from marketplace.extensions import db

bp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


@bp.route("/health")
@bp.response(200)
def health():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        abort(503, message="The database does not answer.")
    return {"status": "ok", "database": "ok"}

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from marketplace.accounts.auth import admin_only
from marketplace.catalog import service
from marketplace.catalog.schemas import (
    ConditionSchema,
    TaxonomyArgs,
    TherapySchema,
    TherapyUpdateSchema,
)
from marketplace.extensions import db
from marketplace.pagination import envelope, page_of

bp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Therapies and conditions")


@bp.route("/therapies")
@bp.arguments(TaxonomyArgs, location="query")
@bp.response(200, page_of(TherapySchema))
def therapies(args):
    return envelope(service.list_therapies(), **args)


@bp.route("/conditions")
@bp.arguments(TaxonomyArgs, location="query")
@bp.response(200, page_of(ConditionSchema))
def conditions(args):
    return envelope(service.list_conditions(), **args)


@bp.route("/admin/therapies")
class AdminTherapies(MethodView):
    @admin_only
    @bp.arguments(TaxonomyArgs, location="query")
    @bp.response(200, page_of(TherapySchema))
    def get(self, args):
        return envelope(service.list_therapies(include_retired=True), **args)

    @admin_only
    @bp.arguments(TherapySchema)
    @bp.response(201, TherapySchema)
    def post(self, data):
        therapy = service.add_therapy(data, current_user)
        db.session.commit()
        return service.therapy_with_count(therapy)


@bp.route("/admin/therapies/<slug>", methods=["PATCH"])
@admin_only
@bp.arguments(TherapyUpdateSchema)
@bp.response(200, TherapySchema)
def update_therapy(data, slug: str):
    therapy = service.update_therapy(service.get_therapy(slug), data, current_user)
    db.session.commit()
    return service.therapy_with_count(therapy)

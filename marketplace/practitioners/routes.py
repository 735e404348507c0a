import uuid

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from marketplace.accounts.auth import practitioner_only
from marketplace.extensions import db
from marketplace.pagination import PageArgs, page_of, paginate
from marketplace.practitioners import service
from marketplace.practitioners.schemas import (
    LocationSchema,
    ProfileSchema,
    PublicProfileSchema,
    ServiceSchema,
)

bp = Blueprint("practitioners", __name__, url_prefix="/api/v1", description="Practitioner listings")


def own_listing():
    return service.get_listing_of(current_user)


@bp.route("/practitioner/profile")
class Profile(MethodView):
    @practitioner_only
    @bp.response(200, ProfileSchema)
    def get(self):
        return own_listing()

    @practitioner_only
    @bp.arguments(ProfileSchema)
    @bp.response(200, ProfileSchema)
    def put(self, data):
        listing = service.update_profile(own_listing(), data)
        db.session.commit()
        return listing


@bp.route("/practitioner/submit", methods=["POST"])
@practitioner_only
@bp.response(200, ProfileSchema)
def submit():
    listing = service.submit_listing(own_listing(), current_user)
    db.session.commit()
    return listing


@bp.route("/practitioner/locations")
class Locations(MethodView):
    @practitioner_only
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(LocationSchema))
    def get(self, args):
        return paginate(service.list_locations(own_listing()), **args)

    @practitioner_only
    @bp.arguments(LocationSchema)
    @bp.response(201, LocationSchema)
    def post(self, data):
        location = service.create_location(own_listing(), data)
        db.session.commit()
        return location


@bp.route("/practitioner/locations/<uuid:location_id>")
class LocationItem(MethodView):
    @practitioner_only
    @bp.response(200, LocationSchema)
    def get(self, location_id: uuid.UUID):
        return service.get_own_location(own_listing(), location_id)

    @practitioner_only
    @bp.arguments(LocationSchema(partial=True))
    @bp.response(200, LocationSchema)
    def patch(self, data, location_id: uuid.UUID):
        location = service.get_own_location(own_listing(), location_id)
        service.update_location(location, data)
        db.session.commit()
        return location

    @practitioner_only
    @bp.response(204)
    def delete(self, location_id: uuid.UUID):
        service.delete_location(service.get_own_location(own_listing(), location_id))
        db.session.commit()


@bp.route("/practitioner/services")
class Services(MethodView):
    @practitioner_only
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(ServiceSchema))
    def get(self, args):
        return paginate(service.list_services(own_listing()), **args)

    @practitioner_only
    @bp.arguments(ServiceSchema)
    @bp.response(201, ServiceSchema)
    def post(self, data):
        created = service.create_service(own_listing(), data)
        db.session.commit()
        return created


@bp.route("/practitioner/services/<uuid:service_id>")
class ServiceItem(MethodView):
    @practitioner_only
    @bp.response(200, ServiceSchema)
    def get(self, service_id: uuid.UUID):
        return service.get_own_service(own_listing(), service_id)

    @practitioner_only
    @bp.arguments(ServiceSchema(partial=True))
    @bp.response(200, ServiceSchema)
    def patch(self, data, service_id: uuid.UUID):
        updated = service.update_service(service.get_own_service(own_listing(), service_id), data)
        db.session.commit()
        return updated

    @practitioner_only
    @bp.response(204)
    def delete(self, service_id: uuid.UUID):
        service.delete_service(service.get_own_service(own_listing(), service_id))
        db.session.commit()


@bp.route("/practitioners/<id_or_slug>")
@bp.response(200, PublicProfileSchema)
def public_profile(id_or_slug: str):
    return service.get_public_listing(id_or_slug)

from flask_smorest import Blueprint

from marketplace.db import utc_now
from marketplace.search.schemas import DEFAULT_RADIUS_KM, SearchArgs, SearchResultSchema
from marketplace.search.service import SearchQuery, search_practitioners

bp = Blueprint("search", __name__, url_prefix="/api/v1", description="Find a practitioner")


def search_query(args: dict) -> SearchQuery:
    """The search that loaded SearchArgs ask for."""
    return SearchQuery(
        therapies=args["therapy"],
        condition=args.get("condition"),
        q=args.get("q"),
        lat=args.get("lat"),
        lng=args.get("lng"),
        radius_km=args.get("radius_km", DEFAULT_RADIUS_KM),
        available_on=args.get("available_on"),
        price_max=args.get("price_max"),
        gender=args["gender"].value if "gender" in args else None,
        language=args.get("language"),
        telehealth=args.get("telehealth"),
        sort=args["sort"],
        page=args["page"],
        per_page=args["per_page"],
    )


@bp.route("/practitioners")
@bp.arguments(SearchArgs, location="query")
@bp.response(200, SearchResultSchema)
def search(args):
    return search_practitioners(search_query(args), utc_now())

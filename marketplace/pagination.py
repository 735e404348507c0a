"""The list envelope `{"items", "total", "page", "per_page"}` and its query arguments."""

from functools import cache
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import validate

from marketplace.extensions import db
from marketplace.fields import StrictInteger

MAX_PER_PAGE = 50


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


@cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope schema for a list of `item_schema` (one per item type, for OpenAPI)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "total": StrictInteger(),
            "page": StrictInteger(),
            "per_page": StrictInteger(),
        },
    )


def paginate(query: sa.Select, page: int, per_page: int, *, scalars: bool = True) -> dict:
    """Run `query` for one page; `total` counts every row the query matches."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )
    page_query = query.limit(per_page).offset((page - 1) * per_page)
    result = db.session.execute(page_query)
    items: list[Any] = list(result.scalars() if scalars else result)
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def envelope(items: list[Any], page: int = 1, per_page: int | None = None) -> dict:
    """An envelope for a list computed in memory (already complete)."""
    total = len(items)
    per_page = per_page or max(total, 1)
    start = (page - 1) * per_page
    return {
        "items": items[start : start + per_page],
        "total": total,
        "page": page,
        "per_page": per_page,
    }

import marshmallow as ma

from marketplace.pagination import PageArgs


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    actor_id = ma.fields.UUID(allow_none=True)
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class AuditQueryArgs(PageArgs):
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    actor_id = ma.fields.UUID()
    action = ma.fields.String()

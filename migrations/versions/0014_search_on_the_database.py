"""search answered by the database

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:00:00.000000

Search no longer runs on an in-memory index in each worker: it asks the database, over narrow
tables rewritten in the same transaction as each change (`search_listings`, `search_offers`,
`search_places`, `search_texts`). The revision log the workers' copies followed
(`search_documents`, `search_changes`, `search_state`) goes.

The new tables are derived data and start empty: after `flask db upgrade`, run
`flask --app wsgi refresh-availability --stale-only` (it writes every approved listing that
has no search row yet), and search finds every listing again.

PostgreSQL indexes places as built-in points with GiST (no extension needed: a bounding box
of the circle is an exact index prefilter, and the great-circle distance is computed on the
few points inside it) and text as a weighted tsvector with GIN; SQLite keeps an FTS5 table in
step with `search_texts` by triggers.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _listing_key(table: str, target: str = "search_listings.practitioner_id", *more_key: str):
    """The practitioner's id, as (part of) the key and a reference deleting with its row."""
    referred = target.split(".")[0]
    return (
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            [target],
            name=op.f(f"fk_{table}_practitioner_id_{referred}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", *more_key, name=op.f(f"pk_{table}")),
    )


def upgrade():
    op.drop_table("search_state")
    op.drop_table("search_changes")
    op.drop_table("search_documents")

    op.create_table(
        "search_listings",
        *_listing_key("search_listings", "practitioners.id"),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("languages", sa.String(length=400), nullable=False),
        sa.Column("telehealth", sa.Boolean(), nullable=False),
        sa.Column("therapy_bits", sa.BigInteger(), nullable=False),
        sa.Column("price_from_cents", sa.Integer(), nullable=False),
        sa.Column("rating_average", sa.Double(), nullable=True),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("rank_base", sa.BigInteger(), nullable=False),
        sa.Column("next_available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days_base", sa.Integer(), nullable=False),
        sa.Column("days_any", sa.Text(), nullable=False),
        sa.Column("days_every", sa.Text(), nullable=False),
        sa.Column("base_day_any_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("base_day_every_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_day_any_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_day_every_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("later_days_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("search_listings", schema=None) as batch_op:
        batch_op.create_index("ix_search_listings_rank", ["rank_base", "practitioner_id"])
        batch_op.create_index("ix_search_listings_next", ["next_available_at", "practitioner_id"])
        batch_op.create_index("ix_search_listings_price", ["price_from_cents", "practitioner_id"])

    op.create_table(
        "search_offers",
        *_listing_key("search_offers", "search_listings.practitioner_id", "position"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("therapy_id", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("cheapest_of_therapy", sa.Boolean(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("search_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_offers_therapy", ["therapy_id", "price_cents", "practitioner_id"]
        )
        batch_op.create_index("ix_search_offers_next", ["next_at", "practitioner_id"])
        batch_op.create_index("ix_search_offers_price", ["price_cents", "practitioner_id"])

    op.create_table(
        "search_places",
        *_listing_key("search_places", "search_listings.practitioner_id", "position"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
    )
    with op.batch_alter_table("search_places", schema=None) as batch_op:
        batch_op.create_index("ix_search_places_latitude", ["latitude", "longitude"])

    op.create_table(
        "search_texts",
        *_listing_key("search_texts"),
        sa.Column("name_terms", sa.Text(), nullable=False),
        sa.Column("headline_terms", sa.Text(), nullable=False),
        sa.Column("bio_terms", sa.Text(), nullable=False),
        sa.Column("tag_terms", sa.Text(), nullable=False),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_places_point ON search_places "
            "USING gist (point(longitude, latitude))"
        )
        # Our terms as they are, each its field's weight: read as tsvector input rather than
        # by a text parser, which would split some (as "1e10x") where SQLite's table does not.
        weighted = " || ".join(
            f"CAST(regexp_replace({column}, '(\\S+)', '\\1:1{weight}', 'g') AS tsvector)"
            for column, weight in (
                ("name_terms", "A"),
                ("headline_terms", "B"),
                ("bio_terms", "C"),
                ("tag_terms", "D"),
            )
        )
        op.execute(
            "ALTER TABLE search_texts ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({weighted}) STORED"
        )
        op.execute("CREATE INDEX ix_search_texts_vector ON search_texts USING gin (search_vector)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_texts_fts USING fts5(practitioner_id UNINDEXED, "
            "name_terms, headline_terms, bio_terms, tag_terms, tokenize='unicode61')"
        )
        op.execute(
            "CREATE TRIGGER search_texts_fts_insert AFTER INSERT ON search_texts BEGIN "
            "INSERT INTO search_texts_fts (practitioner_id, name_terms, headline_terms, "
            "bio_terms, tag_terms) VALUES (new.practitioner_id, new.name_terms, "
            "new.headline_terms, new.bio_terms, new.tag_terms); END"
        )
        op.execute(
            "CREATE TRIGGER search_texts_fts_delete AFTER DELETE ON search_texts BEGIN "
            "DELETE FROM search_texts_fts WHERE practitioner_id = old.practitioner_id; END"
        )
        op.execute(
            "CREATE TRIGGER search_texts_fts_update AFTER UPDATE ON search_texts BEGIN "
            "DELETE FROM search_texts_fts WHERE practitioner_id = old.practitioner_id; "
            "INSERT INTO search_texts_fts (practitioner_id, name_terms, headline_terms, "
            "bio_terms, tag_terms) VALUES (new.practitioner_id, new.name_terms, "
            "new.headline_terms, new.bio_terms, new.tag_terms); END"
        )


def downgrade():
    # Back to revision 0013's empty document tables; `refresh-availability` refills them.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_texts_fts")
    op.drop_table("search_texts")
    op.drop_table("search_places")
    op.drop_table("search_offers")
    op.drop_table("search_listings")

    op.create_table(
        "search_documents",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_search_documents_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", name=op.f("pk_search_documents")),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("telehealth", sa.Boolean(), nullable=False),
        sa.Column("rating_average", sa.Double(), nullable=True),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("next_slots", sa.JSON(), nullable=False),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("name_terms", sa.Text(), nullable=False),
        sa.Column("headline_terms", sa.Text(), nullable=False),
        sa.Column("bio_terms", sa.Text(), nullable=False),
        sa.Column("days_base", sa.Integer(), nullable=False),
        sa.Column("days_any", sa.Text(), nullable=False),
        sa.Column("days_every", sa.Text(), nullable=False),
        sa.Column("base_day_any_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("base_day_every_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_day_any_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_day_every_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("later_days_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_documents_revision"), ["revision"])
    op.create_table(
        "search_changes",
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_search_changes")),
    )
    search_state = op.create_table(
        "search_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_state")),
    )
    op.bulk_insert(search_state, [{"id": 1, "revision": 0}])

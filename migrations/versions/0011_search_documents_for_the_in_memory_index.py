"""search documents for the in-memory index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:05:00.000000

Search now runs on an in-memory index in each worker, fed from `search_documents` by revision:
the full-text machinery (PostgreSQL's tsvector and GIN index, SQLite's FTS5 table) and the
coordinates index on locations go. Documents are derived data: they are rebuilt by
`flask --app wsgi refresh-availability` after upgrading.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _listing_key():
    return (
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_search_documents_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", name=op.f("pk_search_documents")),
    )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_texts")
    op.drop_table("search_documents")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index("ix_locations_coordinates")

    op.create_table(
        "search_documents",
        *_listing_key(),
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


def downgrade():
    # Back to revision 0010's empty search tables; `refresh-availability` refills them.
    op.drop_table("search_state")
    op.drop_table("search_changes")
    op.drop_table("search_documents")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.create_index("ix_locations_coordinates", ["latitude", "longitude"], unique=False)

    op.create_table(
        "search_documents",
        *_listing_key(),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("telehealth", sa.Boolean(), nullable=False),
        sa.Column("rating_average", sa.Double(), nullable=True),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("next_available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("next_bookable_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("therapy_mask", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("bookable_days_base", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bookable_days", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("bookable_days_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_documents_next_available_at"), ["next_available_at"]
        )
        batch_op.create_index(
            batch_op.f("ix_search_documents_min_price_cents"), ["min_price_cents"]
        )
    op.create_table(
        "search_texts",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("name_terms", sa.Text(), nullable=False),
        sa.Column("headline_terms", sa.Text(), nullable=False),
        sa.Column("tag_terms", sa.Text(), nullable=False),
        sa.Column("bio_terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_search_texts_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", name=op.f("pk_search_texts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE search_texts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', name_terms), 'A') || "
            "setweight(to_tsvector('simple', headline_terms || ' ' || tag_terms), 'B') || "
            "setweight(to_tsvector('simple', bio_terms), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_search_texts_vector ON search_texts USING gin (search_vector)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "practitioner_id UNINDEXED, body, tokenize='unicode61')"
        )

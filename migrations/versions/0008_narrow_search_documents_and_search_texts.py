"""narrow search documents and search texts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 23:25:31.639508

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
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
    op.execute(
        "INSERT INTO search_texts (practitioner_id, name_terms, headline_terms, tag_terms, "
        "bio_terms) SELECT practitioner_id, name_terms, headline_terms, tag_terms, bio_terms "
        "FROM search_documents"
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP INDEX ix_search_documents_vector")
        op.execute("ALTER TABLE search_documents DROP COLUMN search_vector")
        # Weighted like the relevance score: name A, headline and therapies/conditions B, bio C.
        op.execute(
            "ALTER TABLE search_texts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', name_terms), 'A') || "
            "setweight(to_tsvector('simple', headline_terms || ' ' || tag_terms), 'B') || "
            "setweight(to_tsvector('simple', bio_terms), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_search_texts_vector ON search_texts USING gin (search_vector)")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        # Derived: filled by `flask --app wsgi refresh-availability` after upgrading.
        batch_op.add_column(
            sa.Column("therapy_mask", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.drop_column("headline_terms")
        batch_op.drop_column("name_terms")
        batch_op.drop_column("tag_terms")
        batch_op.drop_column("bio_terms")


def downgrade():
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        for column in ("bio_terms", "tag_terms", "name_terms", "headline_terms"):
            batch_op.add_column(sa.Column(column, sa.Text(), server_default="", nullable=False))
        batch_op.drop_column("therapy_mask")
    op.execute(
        "UPDATE search_documents SET name_terms = t.name_terms, headline_terms = "
        "t.headline_terms, tag_terms = t.tag_terms, bio_terms = t.bio_terms "
        "FROM search_texts AS t WHERE t.practitioner_id = search_documents.practitioner_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_texts_vector")
        op.execute(
            "ALTER TABLE search_documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', name_terms), 'A') || "
            "setweight(to_tsvector('simple', headline_terms || ' ' || tag_terms), 'B') || "
            "setweight(to_tsvector('simple', bio_terms), 'C')) STORED"
        )
        op.execute(
            "CREATE INDEX ix_search_documents_vector ON search_documents USING gin (search_vector)"
        )
    op.drop_table("search_texts")

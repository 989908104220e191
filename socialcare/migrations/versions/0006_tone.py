"""the tone guard's reading of a draft, made where the model is loaded, so approving needs no model

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tone", sa.JSON(), nullable=True))
    with op.batch_alter_table("reply", schema=None) as batch_op:  # drafts still to read: an idle check costs nothing
        batch_op.create_index(
            "ix_reply_tone_unread",
            ["id"],
            unique=False,
            sqlite_where=sa.text("kind = 'answer' AND status = 'draft' AND tone IS NULL"),
            postgresql_where=sa.text("kind = 'answer' AND status = 'draft' AND tone IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_tone_unread")
        batch_op.drop_column("tone")

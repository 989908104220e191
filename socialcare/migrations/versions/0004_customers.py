"""one customer across channels (emails and phones on identities, merges, splits) and satisfaction follow-ups

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import socialcare.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "satisfaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answered_at", socialcare.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["identity_id"], ["identity.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["reply_id"], ["reply.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reply_id"),
    )
    with op.batch_alter_table("satisfaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_satisfaction_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_satisfaction_identity_id"), ["identity_id"], unique=False)

    with op.batch_alter_table("auditlog", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_auditlog_customer_id"), ["customer_id"], unique=False)
        batch_op.create_foreign_key("fk_auditlog_customer_id_customer", "customer", ["customer_id"], ["id"])

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("followups_stopped_at", socialcare.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key("fk_customer_merged_into_id_customer", "customer", ["merged_into_id"], ["id"])

    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("unlinked_at", socialcare.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_identity_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_phone"), ["phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_phone"))
        batch_op.drop_index(batch_op.f("ix_identity_email"))
        batch_op.drop_column("unlinked_at")
        batch_op.drop_column("phone")
        batch_op.drop_column("email")

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_constraint("fk_customer_merged_into_id_customer", type_="foreignkey")
        batch_op.drop_column("followups_stopped_at")
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("auditlog", schema=None) as batch_op:
        batch_op.drop_constraint("fk_auditlog_customer_id_customer", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_auditlog_customer_id"))
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("satisfaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_identity_id"))
        batch_op.drop_index(batch_op.f("ix_satisfaction_case_id"))
    op.drop_table("satisfaction")

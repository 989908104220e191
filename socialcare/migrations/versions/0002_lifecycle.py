"""one lifecycle: events, durable work items, per-account coordinator state, withdrawn replies

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import socialcare.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", socialcare.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("held_at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id", name="uq_quarantine_platform_external_id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_account_id"), ["account_id"], unique=False)

    op.create_table(
        "workitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("due_at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("lease_holder", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("lease_expires_at", socialcare.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_workitem_kind_key"),
    )
    with op.batch_alter_table("workitem", schema=None) as batch_op:
        batch_op.create_index("ix_workitem_due_at", ["due_at"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", socialcare.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reply_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["reply.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_event_kind_at", ["kind", "at"], unique=False)

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", socialcare.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        for column in ("rate_limited_until", "send_limited_until"):
            batch_op.add_column(sa.Column(column, socialcare.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("promised_at", socialcare.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f("ix_case_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_status"))
        batch_op.create_index("ix_case_status_due_at", ["status", "due_at"], unique=False)

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_untriaged",
            ["id"],
            unique=False,
            sqlite_where=sa.text("case_id IS NULL AND direction = 'inbound'"),
            postgresql_where=sa.text("case_id IS NULL AND direction = 'inbound'"),
        )

    with op.batch_alter_table("verdict", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_probability", sa.Float(), nullable=True))

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_column("sending_since")
        batch_op.drop_column("next_attempt_at")
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="answer"))
        batch_op.create_index(
            "uq_reply_pending_per_case",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'answer' AND status IN ('draft', 'approved', 'sending')"),
            postgresql_where=sa.text("kind = 'answer' AND status IN ('draft', 'approved', 'sending')"),
        )

    # Drafts withdrawn because the customer was answered elsewhere used to be stored as rejected.
    op.execute(
        "UPDATE reply SET status = 'withdrawn', last_error = NULL "
        "WHERE status = 'rejected' AND last_error = 'the customer was already answered'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE reply SET status = 'rejected', last_error = 'the customer was already answered' "
        "WHERE status = 'withdrawn'"
    )
    with op.batch_alter_table("verdict", schema=None) as batch_op:
        batch_op.drop_column("complaint_probability")

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_untriaged")

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index("uq_reply_pending_per_case")
        batch_op.drop_column("kind")
        batch_op.drop_column("version")
        batch_op.add_column(sa.Column("next_attempt_at", socialcare.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sending_since", socialcare.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("promised_at")
        batch_op.drop_column("version")
        batch_op.drop_index("ix_case_status_due_at")
        batch_op.create_index(batch_op.f("ix_case_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_due_at"), ["due_at"], unique=False)

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("send_limited_until")
        batch_op.drop_column("rate_limited_until")
        batch_op.drop_column("error_kind")
        batch_op.drop_column("failing_since")

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_kind_at")
        batch_op.drop_index(batch_op.f("ix_event_case_id"))

    op.drop_table("event")
    with op.batch_alter_table("workitem", schema=None) as batch_op:
        batch_op.drop_index("ix_workitem_due_at")

    op.drop_table("workitem")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_account_id"))
    op.drop_table("quarantine")

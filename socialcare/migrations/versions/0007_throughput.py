"""throughput: triage finds a conversation's case by an index, not by reading every case of the account

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_conversation", ["account_id", "thread_id", "identity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_conversation")

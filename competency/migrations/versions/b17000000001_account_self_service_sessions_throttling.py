"""account self-service, server-side session ends, atomic throttling counters, revocation categories

Revision ID: b17000000001
Revises: a16e00000001
Create Date: 2026-12-05 01:00:00

"""
from alembic import op
import sqlalchemy as sa

import competency.models.base

revision = 'b17000000001'
down_revision = 'a16e00000001'
branch_labels = None
depends_on = None

_CATEGORIES = ("revoked_category IS NULL OR revoked_category IN ('issued_in_error', 'misconduct', "
               "'superseded', 'holder_request', 'other')")


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('password_changed_at',
                                      competency.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at',
                                      competency.models.base.UTCDateTime(timezone=True), nullable=True))

    op.create_table(
        'rate_counter',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window_started_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_counter')),
    )
    with op.batch_alter_table('rate_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_counter_window_started_at'), ['window_started_at'],
                              unique=False)

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_category', sa.String(length=32), nullable=True))
        batch_op.create_check_constraint('revoked_category_valid', _CATEGORIES)
    # Certificates revoked before categories existed show the neutral "other" in public.
    op.execute("UPDATE certificate SET revoked_category = 'other' WHERE revoked_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_certificate_revoked_category_valid'), type_='check')
        batch_op.drop_column('revoked_category')
    with op.batch_alter_table('rate_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_counter_window_started_at'))
    op.drop_table('rate_counter')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_version')

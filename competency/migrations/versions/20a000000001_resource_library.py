"""resource library: demo flag, owning institution, retirement, uploaded files

Revision ID: 20a000000001
Revises: b19000000001
Create Date: 2026-12-05 01:15:00

"""
from alembic import op
import sqlalchemy as sa

import competency.models.base


revision = '20a000000001'
down_revision = 'b19000000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('institution_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', competency.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_at', competency.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_resource_institution_id'), ['institution_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_resource_institution_id_institution'), 'institution', ['institution_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_resource_created_by_id_user_account'), 'user_account', ['created_by_id'], ['id'], ondelete='SET NULL')
    # The catalogue loaded so far is the demo catalogue.
    op.execute("UPDATE resource SET demo = " + ("true" if op.get_bind().dialect.name == "postgresql" else "1"))
    op.create_table('resource_file',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('mimetype', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_resource_file_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_resource_file'))
    )


def downgrade():
    op.drop_table('resource_file')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_resource_created_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_resource_institution_id_institution'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_resource_institution_id'))
        batch_op.drop_column('retired_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('institution_id')
        batch_op.drop_column('demo')

"""fairness profile (optional, consented answers for DIF analysis) and calibration runs (issue 22)

Revision ID: c22000000001
Revises: c23000000002 (issue 23's summary rows)
Create Date: 2026-12-05 03:04:14.495952

"""
import sqlalchemy as sa
from alembic import op

import competency.models.base



revision = 'c22000000001'
down_revision = 'c23000000002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fairness_profile',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('consented_at', competency.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('institution_type', sa.String(length=32), nullable=True),
    sa.Column('region', sa.String(length=16), nullable=True),
    sa.Column('major_category', sa.String(length=32), nullable=True),
    sa.Column('updated_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("gender IS NULL OR gender IN ('female', 'male', 'other')", name=op.f('ck_fairness_profile_gender_valid')),
    sa.CheckConstraint("institution_type IS NULL OR institution_type IN ('secondary_vocational', 'higher_vocational', 'technician_college', 'applied_university', 'enterprise')", name=op.f('ck_fairness_profile_institution_type_valid')),
    sa.CheckConstraint("major_category IS NULL OR major_category IN ('agriculture', 'resources_environment', 'energy_materials', 'civil_engineering', 'water', 'equipment_manufacturing', 'biology_chemistry', 'light_textile', 'food_drugs_grain', 'transport', 'electronics_it', 'medicine_health', 'finance_commerce', 'tourism', 'culture_arts', 'media', 'education_sports', 'public_security_justice', 'public_services')", name=op.f('ck_fairness_profile_major_category_valid')),
    sa.CheckConstraint("region IS NULL OR region IN ('north', 'northeast', 'east', 'central', 'south', 'southwest', 'northwest')", name=op.f('ck_fairness_profile_region_valid')),
    sa.CheckConstraint('consent OR (gender IS NULL AND institution_type IS NULL AND region IS NULL AND major_category IS NULL)', name=op.f('ck_fairness_profile_answers_need_consent')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_fairness_profile_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_fairness_profile'))
    )
    op.create_table('calibration_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('progress_message', sa.String(length=200), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=True),
    sa.Column('decisions', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', competency.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', competency.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', competency.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'review', 'publishing', 'published', 'discarded', 'failed')", name=op.f('ck_calibration_run_status_valid')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_calibration_run_assessment_id_assessment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_calibration_run_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_calibration_run_published_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_run'))
    )
    with op.batch_alter_table('calibration_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_run_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calibration_run_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('calibration_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_run_status'))
        batch_op.drop_index(batch_op.f('ix_calibration_run_assessment_id'))

    op.drop_table('calibration_run')
    op.drop_table('fairness_profile')

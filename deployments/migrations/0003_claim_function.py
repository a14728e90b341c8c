"""portal_claim_jobs(): the agent's job claim as one call in one round trip.

It opens the device's tenant scope itself (the settings row-level security reads), leases the
due jobs with `FOR UPDATE SKIP LOCKED`, writes their claim events and puts the caller's scope
back, so a claim needs no BEGIN, no separate scope statement and no COMMIT of its own; PL/pgSQL
keeps the statement's plan for the session. It runs with the caller's rights (RLS applies).
Called by deployments.jobs.claim, which documents the rules.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION portal_claim_jobs(
    p_tenant bigint, p_device bigint, p_now timestamptz, p_expires timestamptz,
    p_limit integer, p_deployment_states text[]
) RETURNS TABLE (
    id bigint, tenant_id bigint, deployment_id bigint, stage_id bigint, device_id bigint,
    kind text, state text, batch integer, payload jsonb, not_before timestamptz, not_after timestamptz,
    attempt smallint, max_attempts smallint, lease_id uuid, lease_expires_at timestamptz,
    claimed_at timestamptz, deployment_dry_run boolean
)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    outer_all text := coalesce(current_setting('portal.all_tenants', true), '');
    outer_ids text := coalesce(current_setting('portal.tenant_ids', true), '');
BEGIN
    PERFORM set_config('portal.all_tenants', 'off', true), set_config('portal.tenant_ids', p_tenant::text, true);
    RETURN QUERY
    WITH picked AS (
        SELECT j.id FROM deployments_job j
        LEFT JOIN deployments_deployment d ON d.id = j.deployment_id
        WHERE j.device_id = p_device AND j.state = 'queued'
          AND (j.not_before IS NULL OR j.not_before <= p_now)
          AND (j.not_after IS NULL OR j.not_after > p_now)
          AND (j.deployment_id IS NULL OR d.state = ANY (p_deployment_states))
        ORDER BY j.not_before, j.id
        LIMIT p_limit
        FOR UPDATE OF j SKIP LOCKED
    ), claimed AS (
        UPDATE deployments_job j SET
            state = 'claimed', lease_id = gen_random_uuid(), lease_expires_at = p_expires,
            attempt = j.attempt + 1, claimed_at = p_now, updated_at = p_now, result_key = ''
        FROM picked WHERE j.id = picked.id
        RETURNING j.id, j.tenant_id, j.deployment_id, j.stage_id, j.device_id, j.kind::text, j.state::text,
                  j.batch, j.payload, j.not_before, j.not_after, j.attempt, j.max_attempts, j.lease_id,
                  j.lease_expires_at, j.claimed_at
    ), events AS (
        INSERT INTO deployments_jobevent (tenant_id, job_id, at, state, message)
        SELECT c.tenant_id, c.id, p_now, 'claimed',
               'Claimed (attempt ' || c.attempt || ' of ' || c.max_attempts || ').'
        FROM claimed c
    )
    SELECT c.*, d.dry_run FROM claimed c LEFT JOIN deployments_deployment d ON d.id = c.deployment_id
    ORDER BY c.not_before, c.id;
    PERFORM set_config('portal.all_tenants', outer_all, true), set_config('portal.tenant_ids', outer_ids, true);
END
$fn$
"""

DROP = "DROP FUNCTION portal_claim_jobs(bigint, bigint, timestamptz, timestamptz, integer, text[])"


class Migration(migrations.Migration):
    dependencies = [("deployments", "0002_job_indexes_report_alert_kind")]

    operations = [migrations.RunSQL(CREATE, DROP)]

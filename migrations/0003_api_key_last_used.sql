-- 0003_api_key_last_used.sql — sluice_auth_lookup() also records when an API key was last used,
-- at most once a minute per key, so that people can tell stale keys before revoking them.
CREATE OR REPLACE FUNCTION sluice_auth_lookup(credential_hash text)
RETURNS TABLE (tenant_id uuid, user_id uuid, api_key_id uuid, role text,
               rate_per_second double precision, rate_burst double precision)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN QUERY
    SELECT k.tenant_id, k.user_id, k.id, coalesce(u.role, 'admin'), p.rate_per_second, p.rate_burst
      FROM api_keys k JOIN tenants t ON t.id = k.tenant_id JOIN plans p ON p.name = t.plan
      LEFT JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = credential_hash AND k.revoked_at IS NULL;
    IF FOUND THEN
        UPDATE api_keys SET last_used_at = now()
         WHERE key_hash = credential_hash
           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
        RETURN;
    END IF;
    RETURN QUERY
    SELECT s.tenant_id, s.user_id, NULL::uuid, u.role, p.rate_per_second, p.rate_burst
      FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
      JOIN plans p ON p.name = t.plan
     WHERE s.token_hash = credential_hash AND s.revoked_at IS NULL AND s.expires_at > now();
END
$$;

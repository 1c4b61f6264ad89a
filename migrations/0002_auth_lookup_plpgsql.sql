-- 0002_auth_lookup_plpgsql.sql — sluice_auth_lookup() runs on every API request. As a SQL
-- function it was planned anew on each call; in PL/pgSQL its plans are cached per connection.
CREATE OR REPLACE FUNCTION sluice_auth_lookup(credential_hash text)
RETURNS TABLE (tenant_id uuid, user_id uuid, api_key_id uuid, role text,
               rate_per_second double precision, rate_burst double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN QUERY
    SELECT k.tenant_id, k.user_id, k.id, coalesce(u.role, 'admin'), p.rate_per_second, p.rate_burst
      FROM api_keys k JOIN tenants t ON t.id = k.tenant_id JOIN plans p ON p.name = t.plan
      LEFT JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = credential_hash AND k.revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN QUERY
        SELECT s.tenant_id, s.user_id, NULL::uuid, u.role, p.rate_per_second, p.rate_burst
          FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
          JOIN plans p ON p.name = t.plan
         WHERE s.token_hash = credential_hash AND s.revoked_at IS NULL AND s.expires_at > now();
    END IF;
END
$$;

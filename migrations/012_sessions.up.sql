-- Sessions: a login is one refresh-token family, and its id (the family's
-- uuid) is the `sid` claim of every access token the login is given, by
-- the login itself and by each refresh. Revoking a session (a rotated
-- refresh token presented again, or logout) revokes the family here and
-- puts the sid on the deny list: revoked_tokens now holds either an
-- access token's jti (32 hex digits) or a session's sid (a uuid, with
-- dashes, so the two never collide), each until every access token it
-- covers has expired anyway.
COMMENT ON COLUMN revoked_tokens.jti IS
    'an access token''s jti, or a session''s sid (uuid text)';

-- What the sweep looks for: lapsed and long-revoked refresh tokens.
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at)
    WHERE revoked_at IS NOT NULL;

/*
 * Deletes at most p_batch refresh tokens that expired, or were revoked,
 * more than p_grace ago, and deny-list records that lapsed that long ago.
 * Such a token, presented again, is refused as unknown instead of as a
 * replay: a revoked token's family is revoked already; an expired token
 * rotated over REFRESH_TOKEN_TTL ago no longer ends its family, a small
 * loss against a table that would otherwise grow for ever. Returns how
 * many tokens went.
 */
CREATE FUNCTION refresh_sweep(p_batch integer, p_grace interval)
RETURNS integer
LANGUAGE sql AS $$
	WITH doomed AS (
		SELECT r.id FROM refresh_tokens r
		WHERE r.expires_at < now() - p_grace
		UNION
		SELECT r.id FROM refresh_tokens r
		WHERE r.revoked_at < now() - p_grace
		LIMIT p_batch
	), gone AS (
		DELETE FROM refresh_tokens r USING doomed d WHERE r.id = d.id
		RETURNING 1
	), lapsed AS (
		DELETE FROM revoked_tokens t WHERE t.jti IN (
			SELECT jti FROM revoked_tokens
			WHERE expires_at < now() - p_grace LIMIT p_batch)
	)
	SELECT count(*)::integer FROM gone
$$;

-- Revoked access tokens, by jti, until they expire anyway.
--
-- Logout writes here and to the Redis deny list. Redis answers the
-- per-request check; this table is the record: it is read when Redis
-- cannot answer (down, stalled, a failed reply) and to refill the Redis
-- list after Redis lost it (a restart without persistence), so a revoked
-- token is never accepted because Redis forgot it.
CREATE TABLE revoked_tokens (
	jti		text PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 64),
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

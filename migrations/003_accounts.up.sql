-- Accounts: refresh tokens. Only the SHA-256 of a token is kept (hex), so
-- a database leak gives no usable token. Every login starts a family;
-- each refresh marks its token used and adds the next one to the family.
-- A token presented again after it was used revokes its whole family.
CREATE TABLE refresh_tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family		uuid NOT NULL DEFAULT gen_random_uuid(),
	token_hash	text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

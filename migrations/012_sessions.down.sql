DROP FUNCTION refresh_sweep(integer, interval);
DROP INDEX refresh_tokens_revoked;
DROP INDEX refresh_tokens_expires;
COMMENT ON COLUMN revoked_tokens.jti IS NULL;

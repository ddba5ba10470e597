-- Accounts: users. Email is unique case-insensitively; the hash is a
-- crypt(3) string (yescrypt or bcrypt), never returned by the API.
CREATE TABLE users (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	password_hash	text NOT NULL,
	role		text NOT NULL DEFAULT 'user'
			    CHECK (role IN ('user', 'admin')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

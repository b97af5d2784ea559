-- Times are TEXT in UTC, RFC 3339 with a fixed nine-digit fraction
-- (2006-01-02T15:04:05.000000000Z), so that text order is time order.

CREATE TABLE users (
	subject       TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	-- username_key is the lowercased username: usernames compare
	-- case-insensitively.
	username_key  TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
	disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
	created_at    TEXT NOT NULL
);

CREATE TABLE grants (
	id             TEXT PRIMARY KEY,
	subject        TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	-- challenge_hash is the lowercase hex SHA-256 of the consent challenge.
	-- Hydra v2 challenges are about 1 KB and are bearer values, so the table
	-- keeps only a fixed-size hash that still detects reuse.
	challenge_hash TEXT NOT NULL UNIQUE,
	status         TEXT NOT NULL CHECK (status IN ('active', 'paused', 'revoked', 'replaced')),
	-- details is a JSON array of details, with amounts in integer picounits.
	details        TEXT NOT NULL,
	-- scopes is a JSON array of strings.
	scopes         TEXT NOT NULL,
	remember       INTEGER NOT NULL CHECK (remember IN (0, 1)),
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);

CREATE INDEX grants_subject_client_status ON grants (subject, client_id, status);

-- At most one live (active or paused) grant per subject and client.
CREATE UNIQUE INDEX grants_live ON grants (subject, client_id)
	WHERE status IN ('active', 'paused');

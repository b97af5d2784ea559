-- Audit log of changes to grants after consent: who, what, when, and the
-- grant before and after as JSON.
CREATE TABLE grant_audit (
	id       INTEGER PRIMARY KEY,
	at       TEXT NOT NULL,
	actor    TEXT NOT NULL,
	grant_id TEXT NOT NULL REFERENCES grants (id),
	action   TEXT NOT NULL,
	before   TEXT NOT NULL,
	after    TEXT NOT NULL
);

CREATE INDEX grant_audit_grant ON grant_audit (grant_id, id);

-- Revocations that Hydra has not confirmed yet. A row is written in the
-- same transaction that marks the grant revoked and deleted once Hydra's
-- admin API has deleted the consent sessions of the subject and client.
CREATE TABLE pending_revocations (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	subject      TEXT NOT NULL,
	client_id    TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL,
	last_error   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX pending_revocations_due ON pending_revocations (next_attempt);

-- Browser sessions of this app's own pages. token_hash is the lowercase hex
-- SHA-256 of the session cookie's value.
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	subject    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);

CREATE INDEX sessions_expires ON sessions (expires_at);

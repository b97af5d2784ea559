-- Usage metering: reservations, spend per period and rate windows.
-- Amounts are INTEGER picounits (10^-12 of the currency). Times are TEXT
-- in the layout of 0001_init.sql. A period or window is identified by its
-- first instant; the total period by the empty string.

-- One row per reservation. Rows stay after the hold ends, as the record of
-- what was spent.
CREATE TABLE usage_reservations (
	id            TEXT PRIMARY KEY,
	grant_id      TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	provider      TEXT NOT NULL,
	model         TEXT NOT NULL,
	capability    TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('held', 'settled', 'released', 'expired')),
	-- amount is the worst-case cost held, tokens the worst-case tokens.
	amount        INTEGER NOT NULL CHECK (amount >= 0),
	tokens        INTEGER NOT NULL CHECK (tokens >= 0),
	-- Per-token catalog prices when the hold was made, NULL when the
	-- catalog had no price for the model.
	input_price   INTEGER,
	output_price  INTEGER,
	-- The periods and the minute window the reservation counts in.
	day_start     TEXT NOT NULL,
	month_start   TEXT NOT NULL,
	minute_start  TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	-- Set by the settlement. input_tokens and output_tokens stay NULL when
	-- it gave only an amount.
	cost          INTEGER CHECK (cost >= 0),
	input_tokens  INTEGER,
	output_tokens INTEGER,
	-- above_hold is by how much cost exceeded amount, or 0.
	above_hold    INTEGER NOT NULL DEFAULT 0 CHECK (above_hold >= 0),
	-- late is 1 when the settlement came after the hold expired or was
	-- released.
	late          INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
	-- ended_at is when the hold was settled, released or expired.
	ended_at      TEXT
);

-- Finds the holds to expire.
CREATE INDEX usage_reservations_held ON usage_reservations (created_at) WHERE status = 'held';

-- Spent and held per grant, provider and period. Every period is counted,
-- whether or not the grant sets a cap for it.
CREATE TABLE usage_periods (
	grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	provider TEXT NOT NULL,
	period   TEXT NOT NULL CHECK (period IN ('daily', 'monthly', 'total')),
	start    TEXT NOT NULL,
	spent    INTEGER NOT NULL CHECK (spent >= 0),
	held     INTEGER NOT NULL CHECK (held >= 0),
	PRIMARY KEY (grant_id, provider, period, start)
);

-- Sums the spend of one period over every grant, for the admin's lists.
CREATE INDEX usage_periods_period ON usage_periods (period, start);

-- Requests and tokens per grant, provider and fixed rate window. Reserve
-- deletes the windows of the same grant and provider that have ended.
CREATE TABLE usage_windows (
	grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	provider TEXT NOT NULL,
	kind     TEXT NOT NULL CHECK (kind IN ('minute', 'day')),
	start    TEXT NOT NULL,
	requests INTEGER NOT NULL CHECK (requests >= 0),
	tokens   INTEGER NOT NULL CHECK (tokens >= 0),
	PRIMARY KEY (grant_id, provider, kind, start)
);

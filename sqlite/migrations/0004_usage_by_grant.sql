-- Finds a grant's most recent reservation, its last use, without a scan.
CREATE INDEX usage_reservations_grant ON usage_reservations (grant_id, created_at);

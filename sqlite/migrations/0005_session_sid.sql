-- The sid of Hydra's login session behind a browser session, so signing
-- out of this app's pages can end it too.
ALTER TABLE sessions ADD COLUMN hydra_sid TEXT NOT NULL DEFAULT '';

-- Lifeboat schema 15: a password a manager gives someone (a new account, or a reset when they
-- forgot theirs) is theirs to replace: until they choose their own at their next login, the account
-- may do nothing else. Synced with the rest of the account.
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE staff ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));

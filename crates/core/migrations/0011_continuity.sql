-- Lifeboat schema 11: the continuity pack. Staff accounts get a phone number (the pack lists how to
-- reach everyone); each PC keeps its last few packs (the PDF, inside this encrypted database; never
-- synced: every PC makes its own, so a practice has as many copies as PCs that were on).
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE staff ADD COLUMN phone TEXT NOT NULL DEFAULT '';

CREATE TABLE continuity_pack (
    id        TEXT PRIMARY KEY NOT NULL,
    for_date  TEXT NOT NULL,
    made_at   TEXT NOT NULL,
    -- The person who asked for it, or 'the evening schedule'.
    made_by   TEXT NOT NULL,
    -- Made for a day someone chose, rather than the next working day (it does not stand in for the
    -- evening pack).
    chosen    INTEGER NOT NULL DEFAULT 0 CHECK (chosen IN (0, 1)),
    bytes     INTEGER NOT NULL CHECK (bytes > 0),
    sha256    TEXT NOT NULL,
    pdf       BLOB NOT NULL
) STRICT;
CREATE INDEX continuity_pack_made ON continuity_pack (made_at);

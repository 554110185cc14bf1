-- Lifeboat schema 14: drills. A manager practises the outage plan on a copy of the practice's data
-- (a database of its own, in a folder beside this one); staff work through timed tasks there and the
-- report says how long each took and what was missed. This table is this PC's own list of its drills:
-- never journaled, never synced, never exported, like the sync settings. The drill's copy marks itself
-- in its own local_setting ('drill'), so that it refuses to sync or export whoever opens it.
-- Never edit this file once shipped; add a new numbered migration.

CREATE TABLE drill (
    id          TEXT PRIMARY KEY NOT NULL,
    -- Where the copy lives while the drill runs (deleted when it ends: it holds the practice's data).
    folder      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    started_by  TEXT NOT NULL REFERENCES staff (id),
    -- The tasks and the minutes each should take (JSON).
    plan        TEXT NOT NULL,
    ended_at    TEXT,
    ended_by    TEXT REFERENCES staff (id),
    -- The report, made from the copy when the drill ends (JSON).
    report      TEXT,
    CHECK ((ended_at IS NULL) = (report IS NULL))
) STRICT;
-- At most one drill runs on a PC at a time.
CREATE UNIQUE INDEX drill_one_running ON drill ((ended_at IS NULL)) WHERE ended_at IS NULL;

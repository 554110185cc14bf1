-- Clients whose search index rows wait to be rewritten. A long pull (a PC joining a practice, or
-- catching up after days apart) notes the clients it touched here instead of rewriting their words
-- in each of its short transactions, and rewrites them when the pull ends, in a few larger, sorted
-- batches: the words sit all over the index's B-tree, and rewriting them a few at a time re-encrypted
-- most of its pages at every commit. Local to this PC and never journaled; what is left here after a
-- crash is indexed by the next open.
CREATE TABLE search_pending (
    client_id  TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- The search index becomes a B-tree of words: one row per word a client may be found by (their
-- names, their animals' names, phone numbers and their endings, postcode and its parts, e-mail and
-- domain, microchips), ordered by the word, so a keystroke is one range scan. `client` is the
-- client's search_rowid. Derived data, local to this PC and never journaled: the first open after
-- this migration fills it (local setting 'search_index_built'), and every write that changes a
-- client, an animal or an ownership rewrites that client's rows in its own transaction.
DROP TABLE client_search;

CREATE TABLE search_term (
    term    TEXT NOT NULL,
    kind    INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 7),
    sort    TEXT NOT NULL,
    client  INTEGER NOT NULL,
    PRIMARY KEY (term, kind, sort, client)
) STRICT, WITHOUT ROWID;

CREATE INDEX search_term_by_client ON search_term (client, term);

-- Lifeboat schema 13: numbers people can read. A manager gives each PC blocks of client, animal and
-- receipt numbers; a record made on that PC takes the next number of its block, so numbers never
-- clash between PCs, and can be read out, written on paper and typed into the PMS beside its own
-- number. A block is never changed; a PC put back from a copy has a new node id and draws no number
-- from its old blocks.
-- Never edit this file once shipped; add a new numbered migration.

CREATE TABLE number_block (
    id        TEXT PRIMARY KEY NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('client', 'animal', 'receipt')),
    node_id   TEXT NOT NULL,
    first     INTEGER NOT NULL CHECK (first > 0),
    last      INTEGER NOT NULL CHECK (last >= first AND last - first < 1000000),
    set_by    TEXT NOT NULL REFERENCES staff (id),
    set_at    TEXT NOT NULL
) STRICT;
CREATE INDEX number_block_node ON number_block (node_id, kind, first);
CREATE TRIGGER number_block_is_final BEFORE UPDATE ON number_block
BEGIN SELECT RAISE(ABORT, 'a block of numbers cannot be changed; give the PC another'); END;
CREATE TRIGGER number_block_never_deleted BEFORE DELETE ON number_block
BEGIN SELECT RAISE(ABORT, 'a block of numbers cannot be deleted'); END;

ALTER TABLE client ADD COLUMN number INTEGER;
ALTER TABLE patient ADD COLUMN number INTEGER;
ALTER TABLE payment ADD COLUMN number INTEGER;
CREATE INDEX client_number ON client (number) WHERE number IS NOT NULL;
CREATE INDEX patient_number ON patient (number) WHERE number IS NOT NULL;
CREATE INDEX payment_number ON payment (number) WHERE number IS NOT NULL;

-- Field clocks, smaller and out of the B-tree's cells. Each record's clocks were a JSON object naming
-- the clock (HLC stamp and node id) of every field: about 1.3 KB for a client, larger than SQLite
-- keeps inside a cell of a WITHOUT ROWID table, so each row spilled into overflow pages, and every
-- booking and every received change wrote three times the bytes it needed. They are now grouped by
-- clock, `[[hlc, "node", ["field", ...]], ...]` (groups in clock order, fields in name order: two PCs
-- holding the same clocks hold the same text), in a rowid table. A record created in one change has
-- one group.
CREATE TABLE field_clock_grouped (
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    clocks     TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) STRICT;
INSERT INTO field_clock_grouped (entity, entity_id, clocks)
SELECT entity, entity_id, json_group_array(json(grp) ORDER BY hlc, node)
FROM (
    SELECT f.entity, f.entity_id,
           json_extract(j.value, '$[0]') AS hlc,
           json_extract(j.value, '$[1]') AS node,
           json_array(json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
                      json_group_array(j.key ORDER BY j.key)) AS grp
    FROM field_clock AS f, json_each(f.clocks) AS j
    GROUP BY f.entity, f.entity_id, hlc, node
)
GROUP BY entity, entity_id;
INSERT INTO field_clock_grouped (entity, entity_id, clocks)
SELECT entity, entity_id, '[]' FROM field_clock AS f WHERE NOT EXISTS (SELECT 1 FROM json_each(f.clocks));
DROP TABLE field_clock;
ALTER TABLE field_clock_grouped RENAME TO field_clock;

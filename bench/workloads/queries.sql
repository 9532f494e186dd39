-- sqlite3 workload for bench/run.sh: inserts, an index, joins, group-by
-- and string building in an in-memory database. @ROWS@ is set by run.sh.
PRAGMA cache_size = -65536;
CREATE TABLE item(id INTEGER PRIMARY KEY, cat INTEGER, name TEXT, price REAL, note TEXT);
CREATE TABLE cat(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO cat SELECT i, 'category-' || i || '-' || hex(randomblob(8)) FROM n;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @ROWS@)
INSERT INTO item SELECT i, abs(random()) % 200 + 1, 'item-' || hex(randomblob(6)),
                        (abs(random()) % 100000) / 100.0, substr(hex(randomblob(64)), 1, abs(random()) % 120)
FROM n;
COMMIT;
CREATE INDEX item_cat ON item(cat, price);
CREATE INDEX item_name ON item(name);
SELECT c.label, count(*), avg(i.price), max(length(i.note))
  FROM item i JOIN cat c ON c.id = i.cat GROUP BY c.label ORDER BY 2 DESC LIMIT 5;
SELECT cat, group_concat(name, ',') FROM (SELECT cat, name FROM item WHERE price < 50 ORDER BY name)
  GROUP BY cat ORDER BY cat LIMIT 3;
UPDATE item SET note = note || upper(name) WHERE id % 3 = 0;
DELETE FROM item WHERE price > 900;
SELECT count(*), sum(length(note)) FROM item;
SELECT a.cat, count(*) FROM item a JOIN item b ON a.name = b.name AND a.id <> b.id GROUP BY a.cat LIMIT 3;

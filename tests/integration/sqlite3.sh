#!/usr/bin/env bash
# sqlite3 (the Debian CLI) under `heapprof run`: tables, thousands of rows
# inserted in a transaction, joins, group by, an index, a failing statement;
# the same output, errors and exit statuses as a plain run.
source "$(dirname "$0")/lib/common.bash"
hp_need sqlite3

cat >"$HP_TMP/schema.sql" <<'SQL'
PRAGMA journal_mode = DELETE;
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE product (id INTEGER PRIMARY KEY, label TEXT, price REAL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id),
                     product_id INTEGER REFERENCES product(id), qty INTEGER, note TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customer SELECT i, 'customer-' || i, 'city-' || (i * 7 % 23) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO product SELECT i, printf('product-%04d', i), round((i * 37 % 1000) / 10.0, 2) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO orders SELECT i, (i * 7919) % 2000 + 1, (i * 104729) % 300 + 1, i % 9 + 1,
                          substr(printf('%x-%x-%s', i * 31, i * 17, hex(i)), 1, 20) FROM n;
COMMIT;
CREATE INDEX orders_by_customer ON orders(customer_id);
SQL

cat >"$HP_TMP/queries.sql" <<'SQL'
.headers on
.mode list
SELECT count(*), sum(qty), total(length(note)) FROM orders;
SELECT c.city, count(DISTINCT c.id) AS customers, count(o.id) AS n, round(sum(o.qty * p.price), 2) AS revenue
  FROM customer c JOIN orders o ON o.customer_id = c.id JOIN product p ON p.id = o.product_id
  GROUP BY c.city ORDER BY revenue DESC, c.city LIMIT 10;
SELECT p.label, sum(o.qty) AS q FROM product p LEFT JOIN orders o ON o.product_id = p.id
  GROUP BY p.id HAVING q > 600 ORDER BY q DESC, p.label LIMIT 8;
SELECT c.name, group_concat(o.id, ',') FROM customer c JOIN orders o ON o.customer_id = c.id
  WHERE c.id IN (1, 17, 1999) GROUP BY c.id ORDER BY c.id;
SELECT upper(name), length(name) FROM customer WHERE name LIKE '%-19_' ORDER BY id;
EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 5;
UPDATE orders SET qty = qty * 2 WHERE id % 5 = 0;
DELETE FROM orders WHERE id % 11 = 0;
SELECT count(*), sum(qty) FROM orders;
PRAGMA integrity_check;
SQL

workload() {
    hp_run sqlite3 -bail shop.db <"$HP_TMP/schema.sql"
    hp_run sqlite3 shop.db <"$HP_TMP/queries.sql"
    hp_run sqlite3 shop.db 'SELECT no_such_column FROM customer;' || true # error, exit 1
    hp_run sqlite3 :memory: "SELECT sum(value) FROM json_each('[1,2,3]'); SELECT printf('%.3f', 1.0/3);"
    sqlite3 shop.db .dump | sha256sum
}
hp_compare sqlite3 workload
grep -q '^city|customers|n|revenue' "$HP_TMP/sqlite3.plain.out" || hp_fail "queries did not run as expected"
grep -q 'no_such_column' "$HP_TMP/sqlite3.plain.err" || hp_fail "expected an SQL error on stderr"
hp_check_stats "$HP_PROF" "sqlite3 -bail shop.db" "sqlite3 shop.db" >/dev/null
echo "sqlite3: ok"

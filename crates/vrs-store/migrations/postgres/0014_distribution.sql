-- One distribution column type (PostgreSQL): every area table keys its rows by municipality_code
-- CHAR(6), so Citus can distribute them by that column and colocate them (a distributed table's
-- column must have the type of the colocation group's). The bulk inquiry jobs were keyed by TEXT;
-- their codes are six digits already, so the change keeps every value.

ALTER TABLE inquiry_jobs ALTER COLUMN municipality_code TYPE CHAR(6);

-- Statistics roll-ups (SQLite): the sums of the per-municipality statistics over each prefecture and
-- over the nation, kept by the statistics job in the transaction that replaces a municipality's
-- counts (its old rows subtracted, its new rows added), so that a prefecture's or the nation's page
-- reads a few thousand rows whatever the number of municipalities. `region` is the prefecture code
-- ('01'–'47') or '00' for the nation; `contributors` is the number of municipality rows summed into
-- the row, which is deleted when it falls to 0 (so a roll-up holds exactly the groups a sum over the
-- municipalities' rows would give).

CREATE TABLE stat_rollup_daily (
    region            TEXT NOT NULL,
    day               TEXT NOT NULL,
    dose_number       INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    contributors      INTEGER NOT NULL,
    PRIMARY KEY (region, day, dose_number)
) WITHOUT ROWID;

CREATE TABLE stat_rollup_products (
    region            TEXT NOT NULL,
    dose_number       INTEGER NOT NULL,
    product_code      TEXT NOT NULL,
    doses             INTEGER NOT NULL,
    contributors      INTEGER NOT NULL,
    PRIMARY KEY (region, dose_number, product_code)
) WITHOUT ROWID;

CREATE TABLE stat_rollup_ages (
    region            TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    dose_number       INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    contributors      INTEGER NOT NULL,
    PRIMARY KEY (region, age_band, sex, dose_number)
) WITHOUT ROWID;

CREATE TABLE stat_rollup_coverage (
    region            TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    people            INTEGER NOT NULL,
    contributors      INTEGER NOT NULL,
    PRIMARY KEY (region, age_band, sex, doses)
) WITHOUT ROWID;

-- Each municipality's people with at least `doses` doses over every age band and sex (doses = 0:
-- its targets), for the prefecture's and the nation's table of municipalities.
CREATE TABLE stat_totals (
    municipality_code TEXT NOT NULL,
    doses             INTEGER NOT NULL,
    people            INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, doses)
) WITHOUT ROWID;

-- Each municipality's doses in all, beside the head its counts were computed from.
ALTER TABLE stat_state ADD COLUMN doses INTEGER NOT NULL DEFAULT 0;

-- The roll-ups and totals of the statistics already stored.
INSERT INTO stat_rollup_daily (region, day, dose_number, doses, contributors)
SELECT r.region, s.day, s.dose_number, sum(s.doses), count(*)
FROM stat_daily s JOIN (SELECT municipality_code, substr(municipality_code, 1, 2) AS region FROM stat_state
                        UNION ALL SELECT municipality_code, '00' FROM stat_state) r
  ON r.municipality_code = s.municipality_code
GROUP BY r.region, s.day, s.dose_number;

INSERT INTO stat_rollup_products (region, dose_number, product_code, doses, contributors)
SELECT r.region, s.dose_number, s.product_code, sum(s.doses), count(*)
FROM stat_products s JOIN (SELECT municipality_code, substr(municipality_code, 1, 2) AS region FROM stat_state
                           UNION ALL SELECT municipality_code, '00' FROM stat_state) r
  ON r.municipality_code = s.municipality_code
GROUP BY r.region, s.dose_number, s.product_code;

INSERT INTO stat_rollup_ages (region, age_band, sex, dose_number, doses, contributors)
SELECT r.region, s.age_band, s.sex, s.dose_number, sum(s.doses), count(*)
FROM stat_ages s JOIN (SELECT municipality_code, substr(municipality_code, 1, 2) AS region FROM stat_state
                       UNION ALL SELECT municipality_code, '00' FROM stat_state) r
  ON r.municipality_code = s.municipality_code
GROUP BY r.region, s.age_band, s.sex, s.dose_number;

INSERT INTO stat_rollup_coverage (region, age_band, sex, doses, people, contributors)
SELECT r.region, s.age_band, s.sex, s.doses, sum(s.people), count(*)
FROM stat_coverage s JOIN (SELECT municipality_code, substr(municipality_code, 1, 2) AS region FROM stat_state
                           UNION ALL SELECT municipality_code, '00' FROM stat_state) r
  ON r.municipality_code = s.municipality_code
GROUP BY r.region, s.age_band, s.sex, s.doses;

INSERT INTO stat_totals (municipality_code, doses, people)
SELECT municipality_code, doses, sum(people) FROM stat_coverage GROUP BY municipality_code, doses;

UPDATE stat_state SET doses =
    (SELECT coalesce(sum(d.doses), 0) FROM stat_daily d WHERE d.municipality_code = stat_state.municipality_code);

-- The nation's sums no longer read stat_daily across municipalities.
DROP INDEX stat_daily_by_day;

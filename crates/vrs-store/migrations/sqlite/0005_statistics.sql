-- Statistics (SQLite): counts per municipality computed by the statistics job, replaced as a whole
-- per municipality. Counts only, never a person. Keyed by municipality_code first, so a scope's sums
-- (one municipality, a prefecture's code range, the nation) read a range of each primary key.

CREATE TABLE stat_daily (
    municipality_code TEXT NOT NULL,
    day               TEXT NOT NULL,
    dose_number       INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, day, dose_number)
) WITHOUT ROWID;

CREATE TABLE stat_products (
    municipality_code TEXT NOT NULL,
    dose_number       INTEGER NOT NULL,
    product_code      TEXT NOT NULL,
    doses             INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, dose_number, product_code)
) WITHOUT ROWID;

CREATE TABLE stat_ages (
    municipality_code TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    dose_number       INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, age_band, sex, dose_number)
) WITHOUT ROWID;

-- People of an age band and sex with at least `doses` doses; doses = 0 counts every target.
CREATE TABLE stat_coverage (
    municipality_code TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    doses             INTEGER NOT NULL,
    people            INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, age_band, sex, doses)
) WITHOUT ROWID;

-- The audit head (seq) of the municipality the stored counts were computed from, and when.
CREATE TABLE stat_state (
    municipality_code TEXT PRIMARY KEY,
    source_seq        INTEGER NOT NULL,
    computed_at       TEXT NOT NULL
) WITHOUT ROWID;

-- The nation's daily sums read this index in (day, dose_number) order and need no sort.
CREATE INDEX stat_daily_by_day ON stat_daily (day, dose_number, municipality_code, doses);

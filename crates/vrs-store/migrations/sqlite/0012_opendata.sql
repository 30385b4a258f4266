-- Open data (SQLite): the statistics job's fifth projection, doses per day, sex, open age group
-- (age on the day of the dose), dose number and product group (the maker), per municipality; and the
-- published release, kept as the files were generated so that every node serves the same bytes.

CREATE TABLE stat_open (
    municipality_code TEXT NOT NULL,
    day               TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    age_group         TEXT NOT NULL,
    dose_number       INTEGER NOT NULL,
    product_group     TEXT NOT NULL,
    doses             INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, day, sex, age_group, dose_number, product_group)
) WITHOUT ROWID;

CREATE TABLE opendata_files (
    name         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    etag         TEXT NOT NULL,
    generated_at TEXT NOT NULL
);

-- Statistics computed before this projection existed are recomputed by the next run of the job.
DELETE FROM stat_state;

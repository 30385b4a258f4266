-- Open data (PostgreSQL): the statistics job's fifth projection, doses per day, sex, open age group
-- (age on the day of the dose), dose number and product group (the maker), per municipality; and the
-- published release, kept as the files were generated so that every node serves the same bytes.

CREATE TABLE stat_open (
    municipality_code CHAR(6) NOT NULL,
    day               DATE NOT NULL,
    sex               SMALLINT NOT NULL,
    age_group         TEXT NOT NULL,
    dose_number       SMALLINT NOT NULL,
    product_group     TEXT NOT NULL,
    doses             BIGINT NOT NULL,
    PRIMARY KEY (municipality_code, day, sex, age_group, dose_number, product_group)
);

CREATE TABLE opendata_files (
    name         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    body         BYTEA NOT NULL,
    etag         TEXT NOT NULL,
    generated_at TIMESTAMPTZ NOT NULL
);

-- Statistics computed before this projection existed are recomputed by the next run of the job.
DELETE FROM stat_state;

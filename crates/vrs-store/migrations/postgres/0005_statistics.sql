-- Statistics (PostgreSQL): counts per municipality computed by the statistics job, replaced as a
-- whole per municipality. Counts only, never a person. Keyed by municipality_code first, so a
-- scope's sums (one municipality, a prefecture's code range, the nation) read a range of each
-- primary key.

CREATE TABLE stat_daily (
    municipality_code CHAR(6) NOT NULL,
    day               DATE NOT NULL,
    dose_number       SMALLINT NOT NULL,
    doses             BIGINT NOT NULL,
    PRIMARY KEY (municipality_code, day, dose_number)
);

CREATE TABLE stat_products (
    municipality_code CHAR(6) NOT NULL,
    dose_number       SMALLINT NOT NULL,
    product_code      TEXT NOT NULL,
    doses             BIGINT NOT NULL,
    PRIMARY KEY (municipality_code, dose_number, product_code)
);

CREATE TABLE stat_ages (
    municipality_code CHAR(6) NOT NULL,
    age_band          TEXT NOT NULL,
    sex               SMALLINT NOT NULL,
    dose_number       SMALLINT NOT NULL,
    doses             BIGINT NOT NULL,
    PRIMARY KEY (municipality_code, age_band, sex, dose_number)
);

-- People of an age band and sex with at least `doses` doses; doses = 0 counts every target.
CREATE TABLE stat_coverage (
    municipality_code CHAR(6) NOT NULL,
    age_band          TEXT NOT NULL,
    sex               SMALLINT NOT NULL,
    doses             SMALLINT NOT NULL,
    people            BIGINT NOT NULL,
    PRIMARY KEY (municipality_code, age_band, sex, doses)
);

-- The audit head (seq) of the municipality the stored counts were computed from, and when.
CREATE TABLE stat_state (
    municipality_code CHAR(6) PRIMARY KEY,
    source_seq        BIGINT NOT NULL,
    computed_at       TIMESTAMPTZ NOT NULL
);

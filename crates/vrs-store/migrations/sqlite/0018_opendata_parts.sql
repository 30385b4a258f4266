-- Open data in parts: a published file is kept as parts of at most 1 MiB under its release, so
-- that building a release and serving a file read and write one part at a time (at the country's
-- size the daily files are hundreds of megabytes, which a single value would hold in memory on
-- every node that builds or serves them). The index names each file's release and number of
-- parts; a new release's parts are written before one transaction replaces the index.
-- The release published before this change is dropped: it is derived from the statistics, and the
-- statistics job publishes again when none exists.
DROP TABLE opendata_files;

CREATE TABLE opendata_files (
    name         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,
    generated_at TEXT        NOT NULL,
    release      TEXT NOT NULL,
    parts        INTEGER NOT NULL
);

CREATE TABLE opendata_parts (
    release TEXT NOT NULL,
    name    TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    bytes   BLOB  NOT NULL,
    PRIMARY KEY (release, name, seq)
);


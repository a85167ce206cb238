-- Hourly rollups of the samples (rounds, packets, RTT and jitter histograms per node and class),
-- which reports read and which outlive the raw samples' retention. Each sample carries its
-- histogram buckets so that an hour rolls up in SQL, without loading its samples.
ALTER TABLE samples ADD COLUMN rtt_bucket INTEGER;
ALTER TABLE samples ADD COLUMN jitter_bucket INTEGER;

CREATE TABLE sample_rollups (
    hour     INTEGER NOT NULL,
    node     TEXT    NOT NULL,
    class    TEXT    NOT NULL,
    rounds   INTEGER NOT NULL,
    sent     INTEGER NOT NULL,
    received INTEGER NOT NULL,
    rtt      TEXT    NOT NULL,
    jitter   TEXT    NOT NULL,
    PRIMARY KEY (hour, node, class)
) WITHOUT ROWID;

-- Every hour before until_s is rolled up.
CREATE TABLE rollup_watermark (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    until_s INTEGER NOT NULL
);

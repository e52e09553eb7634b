-- 0006 (PostgreSQL): the size and duration of a call's recording (see
-- ../0006_recordings.sql).
ALTER TABLE call_records ADD COLUMN recording_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_records ADD COLUMN recording_ms BIGINT NOT NULL DEFAULT 0;

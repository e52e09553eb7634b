-- 0006: the size and duration of a call's recording (recording_path holds
-- its file); kept for reports after the retention purge deletes the file.
ALTER TABLE call_records ADD COLUMN recording_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_records ADD COLUMN recording_ms INTEGER NOT NULL DEFAULT 0;

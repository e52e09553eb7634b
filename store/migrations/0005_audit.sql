-- 0005: the audit trail. Append-only: triggers refuse every UPDATE and
-- DELETE, so neither onecall nor a stray statement rewrites history.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,              -- Unix ms
    actor       TEXT NOT NULL DEFAULT '',      -- username, or "system"
    role        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',      -- user, agent or contact acted on
    detail      TEXT NOT NULL DEFAULT '',      -- JSON object
    source      TEXT NOT NULL DEFAULT ''       -- client address
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

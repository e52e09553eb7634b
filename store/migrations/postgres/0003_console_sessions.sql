-- 0003 (PostgreSQL): console sign-ins survive a restart; only the token's
-- SHA-256 is stored (see ../0003_console_sessions.sql).
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    display    TEXT NOT NULL,
    role       TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    expires_at BIGINT NOT NULL   -- Unix ms; the session slides, see console
);
CREATE INDEX console_sessions_user ON console_sessions(username);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);

-- 0003: console sign-ins survive a restart. The cookie token itself is
-- never stored, only its SHA-256; a stolen database opens no session.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    display    TEXT NOT NULL,
    role       TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    expires_at INTEGER NOT NULL   -- Unix ms; the session slides, see console
);
CREATE INDEX console_sessions_user ON console_sessions(username);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);

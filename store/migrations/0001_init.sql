-- 0001: initial schema. Timestamps are INTEGER milliseconds since the Unix
-- epoch (UTC); NULL means "not happened". JSON columns hold TEXT.

CREATE TABLE users (
    username        TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL DEFAULT '',
    alias           TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('agent','supervisor','admin')),
    password_hash   TEXT NOT NULL DEFAULT '',
    sip_ha1_md5     TEXT NOT NULL DEFAULT '',
    sip_ha1_sha256  TEXT NOT NULL DEFAULT '',
    disabled        INTEGER NOT NULL DEFAULT 0,
    skills          TEXT NOT NULL DEFAULT '{}',
    voice_cap       INTEGER NOT NULL DEFAULT 1,
    chat_cap        INTEGER NOT NULL DEFAULT 3,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,           -- router.ContactID
    channel         TEXT NOT NULL DEFAULT '',      -- voice | chat
    hotline         TEXT NOT NULL DEFAULT '',
    queue           TEXT NOT NULL DEFAULT '',
    citizen         TEXT NOT NULL DEFAULT '',      -- caller number or chat identity
    agent           TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    arrived_at      INTEGER,
    offered_at      INTEGER,
    answered_at     INTEGER,
    ended_at        INTEGER,
    end_reason      TEXT NOT NULL DEFAULT '',
    wait_ms         INTEGER NOT NULL DEFAULT 0,
    handle_ms       INTEGER NOT NULL DEFAULT 0,
    wrapup_ms       INTEGER NOT NULL DEFAULT 0,
    disposition     TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    satisfaction    INTEGER NOT NULL DEFAULT 0,    -- 0 = none, 1..5
    attrs           TEXT NOT NULL DEFAULT '{}',
    resume_hash     TEXT NOT NULL DEFAULT '',
    purged_at       INTEGER
);
CREATE INDEX contacts_citizen ON contacts (citizen, arrived_at);
CREATE INDEX contacts_resume ON contacts (resume_hash) WHERE resume_hash <> '';
CREATE INDEX contacts_open ON contacts (channel) WHERE ended_at IS NULL;
CREATE INDEX contacts_ended ON contacts (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE contact_events (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT '',
    queue           TEXT NOT NULL DEFAULT '',
    agent           TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, id);

CREATE TABLE chat_messages (
    contact_id      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('citizen','agent','system')),
    sender_id       TEXT NOT NULL DEFAULT '',
    text            TEXT,                          -- NULL once purged
    sent_at         INTEGER NOT NULL,
    delivered_at    INTEGER,
    read_at         INTEGER,
    UNIQUE (contact_id, seq)
);

CREATE TABLE call_records (
    id              INTEGER PRIMARY KEY,
    call_id         TEXT NOT NULL,                 -- SIP Call-ID
    contact_id      INTEGER NOT NULL DEFAULT 0,
    from_uri        TEXT NOT NULL DEFAULT '',
    to_uri          TEXT NOT NULL DEFAULT '',
    legs            TEXT NOT NULL DEFAULT '[]',
    codec           TEXT NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER,
    hangup_cause    TEXT NOT NULL DEFAULT '',
    rtp_stats       TEXT NOT NULL DEFAULT '{}',
    recording_path  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX call_records_contact ON call_records (contact_id);
CREATE INDEX call_records_call_id ON call_records (call_id);

CREATE TABLE agent_state_log (
    id              INTEGER PRIMARY KEY,
    agent           TEXT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE INDEX agent_state_log_open ON agent_state_log (agent) WHERE ended_at IS NULL;

CREATE TABLE callbacks (
    contact_id      INTEGER PRIMARY KEY,           -- the contact that booked it
    citizen_number  TEXT NOT NULL,
    hotline         TEXT NOT NULL DEFAULT '',
    queue           TEXT NOT NULL DEFAULT '',
    arrived_at      INTEGER NOT NULL,              -- original arrival: keeps the place in line
    booked_at       INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('booked','dialing','done','failed','cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    attrs           TEXT NOT NULL DEFAULT '{}',
    updated_at      INTEGER NOT NULL
);
CREATE INDEX callbacks_status ON callbacks (status, arrived_at);

CREATE TABLE dispositions (
    hotline         TEXT NOT NULL,
    code            TEXT NOT NULL,
    label           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (hotline, code)
) WITHOUT ROWID;

CREATE TABLE registrations (
    username        TEXT NOT NULL,
    contact_uri     TEXT NOT NULL,
    source_addr     TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    expires_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (username, contact_uri)
) WITHOUT ROWID;

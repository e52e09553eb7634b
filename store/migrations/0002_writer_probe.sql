-- 0002: a one-row table the writer updates to find out whether storage has
-- recovered when it has no records waiting (only Durable callers, which are
-- refused while storage is unhealthy).
CREATE TABLE writer_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  INTEGER NOT NULL
);

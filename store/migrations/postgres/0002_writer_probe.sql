-- 0002 (PostgreSQL): the writer's probe row (see ../0002_writer_probe.sql).
CREATE TABLE writer_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  BIGINT NOT NULL
);

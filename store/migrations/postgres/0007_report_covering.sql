-- 0007 (PostgreSQL): reports read a day of contacts from a covering index
-- (an index-only scan once the table is vacuumed), and transfers are
-- counted on the contact's row (see ../0007_report_covering.sql).
ALTER TABLE contacts ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET transfers = (SELECT COUNT(*) FROM contact_events e WHERE e.contact_id = contacts.id AND e.state = 'transferred')
    WHERE id IN (SELECT contact_id FROM contact_events WHERE state = 'transferred');
DROP INDEX IF EXISTS contacts_arrived;
CREATE INDEX contacts_report ON contacts (arrived_at) INCLUDE (id, queue, hotline, agent, channel, answered_at, ended_at,
    end_reason, disposition, wait_ms, handle_ms, transfers);

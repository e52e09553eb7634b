-- 0004 (PostgreSQL): historical reports scan contacts by arrival time.
CREATE INDEX contacts_arrived ON contacts (arrived_at);

-- 0008 (PostgreSQL): the wallboard's "agents by state over the day" reads
-- the state rows open at some point of the day (see ../0008_agent_state_day.sql).
CREATE INDEX agent_state_log_day ON agent_state_log (ended_at) INCLUDE (started_at, state);

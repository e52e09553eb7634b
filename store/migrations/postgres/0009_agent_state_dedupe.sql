-- 0009 (PostgreSQL): an agent's state change already logged is found by
-- agent and start (see ../0009_agent_state_dedupe.sql).
CREATE INDEX agent_state_log_agent ON agent_state_log (agent, started_at);

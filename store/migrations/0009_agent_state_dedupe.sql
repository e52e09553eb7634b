-- A cluster's new leader writes its predecessor's last records again; an
-- agent's state change already logged is found by agent and start.
CREATE INDEX agent_state_log_agent ON agent_state_log (agent, started_at);

-- The wallboard's "agents by state over the day" reads the state rows that
-- were open at some point of the day: those ended after its start (a range
-- of this index, which covers the query) and those still open.
CREATE INDEX agent_state_log_day ON agent_state_log (ended_at, started_at, state);

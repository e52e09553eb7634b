package router

// TransferTarget is where a transfer or a consult sends a contact: exactly
// one of a queue, a named agent or an outside number. The console and the
// SIP service both take it; they check that exactly one is set.
type TransferTarget struct {
	Queue  string
	Agent  AgentID
	Number string
}

// String is "queue:ID", "agent:ID", "number:N", or "" when none is set.
func (t TransferTarget) String() string {
	switch {
	case t.Queue != "":
		return "queue:" + t.Queue
	case t.Agent != "":
		return "agent:" + string(t.Agent)
	case t.Number != "":
		return "number:" + t.Number
	}
	return ""
}

// Targets counts the targets set (a valid target has exactly one).
func (t TransferTarget) Targets() int {
	n := 0
	for _, set := range []bool{t.Queue != "", t.Agent != "", t.Number != ""} {
		if set {
			n++
		}
	}
	return n
}

package router

import "strconv"

func (s ContactState) String() string {
	switch s {
	case Waiting:
		return "waiting"
	case Offered:
		return "offered"
	case Talking:
		return "talking"
	case Ended:
		return "ended"
	case CallbackBooked:
		return "callback-booked"
	}
	return "contact-state(" + strconv.Itoa(int(s)) + ")"
}

func (r EndReason) String() string {
	switch r {
	case EndUnknown:
		return "unknown"
	case EndCompleted:
		return "completed"
	case EndAbandoned:
		return "abandoned"
	case EndRefusedQueueFull:
		return "refused-queue-full"
	case EndRefusedClosed:
		return "refused-closed"
	case EndCallback:
		return "callback"
	case EndMaxWait:
		return "max-wait"
	case EndAgentLost:
		return "agent-lost"
	case EndStuck:
		return "stuck"
	case EndSystemRestart:
		return "system-restart"
	case EndTransferredOut:
		return "transferred-out"
	case EndNoQueue:
		return "no-queue"
	case EndCallbackRetry:
		return "callback-retry"
	case EndCallbackUnreached:
		return "callback-unreached"
	case EndCallbackMerged:
		return "callback-merged"
	case EndNodeLost:
		return "node-lost"
	}
	return "end-reason(" + strconv.Itoa(int(r)) + ")"
}

func (s Strategy) String() string {
	switch s {
	case LongestIdle:
		return "longest-idle"
	case MostSkilled:
		return "most-skilled"
	case LeastOccupied:
		return "least-occupied"
	case RoundRobin:
		return "round-robin"
	}
	return "strategy(" + strconv.Itoa(int(s)) + ")"
}

func (a FullAction) String() string {
	switch a {
	case FullRefuse:
		return "refuse"
	case FullOverflow:
		return "overflow"
	case FullCallback:
		return "callback"
	}
	return "full-action(" + strconv.Itoa(int(a)) + ")"
}

func (c ClosedTreatment) String() string {
	switch c {
	case ClosedRefuse:
		return "refuse"
	case ClosedCallback:
		return "callback"
	case ClosedOverflow:
		return "overflow"
	}
	return "closed-treatment(" + strconv.Itoa(int(c)) + ")"
}

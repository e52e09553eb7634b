package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// metricValue is the value of the first sample of body whose line starts
// with prefix (a name and labels in Prometheus' text order), and whether
// there is one.
func metricValue(body, prefix string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		return v, err == nil
	}
	return 0, false
}

// checkClusterMetrics: a follower's and the leader's /metrics both show
// the cluster's queues from their replica (the callback waiting in
// imm-vi) and the contacts their transports saw answered (the chats).
func checkClusterMetrics(t *testing.T, nodes ...*clusterNode) {
	t.Helper()
	for _, n := range nodes {
		var body string
		testpeers.WaitFor(t, 5*time.Second, "queue and contact metrics on n"+strconv.Itoa(n.n), func() bool {
			_, body = get(t, "http://"+n.HTTPAddr()+"/metrics")
			w, ok := metricValue(body, `onecall_queue_waiting{queue="imm-vi"}`)
			a, ok2 := metricValue(body, `onecall_contacts_answered_total{channel="chat"`)
			return ok && ok2 && w == 1 && a >= 1
		})
		for _, want := range []string{`onecall_queue_agents{queue="gen-110",state="ready"}`, `onecall_queue_estimated_wait_seconds{queue="imm-vi"}`,
			`onecall_contacts_offered_total{channel="chat"`, `onecall_cluster_leader `} {
			if _, ok := metricValue(body, want); !ok {
				t.Errorf("n%d's /metrics lacks %s", n.n, want)
			}
		}
	}
}

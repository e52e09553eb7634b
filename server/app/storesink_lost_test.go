package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"onecall/router"
	"onecall/server"
	"onecall/sip"
	"onecall/store"
)

// The store sink of the node whose engine commands are stored (a cluster's
// leader) writes the call record of each voice contact that NodeLost ends:
// the talking call's and the waiting call's, with the Call-ID, citizen,
// arrival, first answer and end routing knows, hangup cause node-lost and
// no legs; written again (a new leader re-issuing the same commands) it
// adds nothing. A call of the single node (node 0), which ends as always,
// gets no record from the sink: its own node writes it (the sink writes
// none for any end but node-lost).
func TestStoreSinkWritesNodeLostCallRecord(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := router.QueueDef{ID: "q", Skills: []router.SkillReq{{Skill: "s", Min: 1}}, MaxWaiting: 100, MaxWait: time.Hour}
	e, err := router.New(router.Config{Queues: []router.QueueDef{q},
		Agents:   []router.AgentDef{{ID: "a1", Skills: map[string]int{"s": 1}, Voice: 1}},
		Hotlines: []router.HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: router.Schedule{Always: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	sink := newStoreSink(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var all []router.Command
	t0 := time.UnixMilli(1_800_000_000_000).UTC()
	apply := func(ev router.Event, at time.Duration) {
		t.Helper()
		cmds, err := e.Apply(ev, t0.Add(at))
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		sink.Deliver(cmds)
		all = append(all, cmds...)
	}
	id := func(node uint16, n uint64) router.ContactID {
		return router.ContactID(uint64(node)<<server.ContactIDNodeShift | n)
	}
	talking, waiting, single := id(3, 1), id(3, 2), id(0, 3)
	arrive := func(c router.ContactID, callID, citizen string, at time.Duration) {
		apply(router.ContactArrived{Contact: c, Channel: router.Voice, Number: "110", Citizen: citizen, Arrived: t0.Add(at),
			Attrs: map[string]string{sip.AttrCallID: callID}}, at)
	}
	apply(router.AgentLoggedIn{Agent: "a1", Ready: true}, 0)
	arrive(talking, "call-talking", "01011112222", time.Second)
	apply(router.OfferAccepted{Contact: talking, Agent: "a1"}, 3*time.Second)
	arrive(waiting, "call-waiting", "01033334444", 4*time.Second)
	arrive(single, "call-single", "01055556666", 5*time.Second)
	apply(router.NodeLost{Node: 3}, 9*time.Second)
	apply(router.ContactAbandoned{Contact: single}, 10*time.Second)
	sink.Deliver(all) // a new leader re-issues them
	if err := st.Durable(ctx, store.Barrier{}); err != nil {
		t.Fatal(err)
	}

	recs, err := st.CallRecords(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("call records %+v, want one for each of node 3's two calls", recs)
	}
	byCall := map[string]store.CallRecord{}
	for _, r := range recs {
		byCall[r.CallID] = r
	}
	end := t0.Add(9 * time.Second)
	if r := byCall["call-talking"]; r.Contact != uint64(talking) || r.From != "01011112222" || r.To != "110" ||
		!r.Started.Equal(t0.Add(time.Second)) || !r.Answered.Equal(t0.Add(3*time.Second)) || !r.Ended.Equal(end) ||
		r.HangupCause != router.EndNodeLost.String() || len(r.Legs) != 0 {
		t.Fatalf("talking call's record %+v", r)
	}
	if r := byCall["call-waiting"]; r.Contact != uint64(waiting) || r.From != "01033334444" || !r.Answered.IsZero() ||
		!r.Ended.Equal(end) || r.HangupCause != store.CauseNodeLost {
		t.Fatalf("waiting call's record %+v", r)
	}
	if store.CauseNodeLost != router.EndNodeLost.String() {
		t.Fatalf("store.CauseNodeLost %q, router.EndNodeLost %q: one spelling", store.CauseNodeLost, router.EndNodeLost)
	}
}

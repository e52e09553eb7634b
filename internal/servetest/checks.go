package servetest

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// The acceptance checks (issue 14, "Pass when"), each returning what
// breaks it: an empty list passes. They read the shared PostgreSQL store
// and what the consoles saw.

// OpenStore opens the cluster's PostgreSQL database for the checks.
func OpenStore(dsn string) (*sql.DB, error) { return sql.Open("pgx", dsn) }

func query(db *sql.DB, q string, args ...any) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var what string
		if err := rows.Scan(&id, &what); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("contact %d: %s", id, what))
	}
	return out, rows.Err()
}

// ClosedTwice lists the contacts the store recorded as ended more than once.
func ClosedTwice(db *sql.DB) ([]string, error) {
	return query(db, `SELECT contact_id, count(*)::text || ' ended events: ' ||
		string_agg(at::text || ' ' || queue || ' ' || agent || ' ' || reason, '; ' ORDER BY id) FROM contact_events
		WHERE state = 'ended' GROUP BY contact_id HAVING count(*) > 1 ORDER BY contact_id`)
}

// NotClosed lists the contacts that arrived before cutoff and have no end
// (after the load stopped and the citizens left, every contact must end).
// Each comes with its stored history (the state changes routing decided,
// with their time in ms, agent and reason) and its end as the transport
// stored it, so a failed run says where the contact got lost.
func NotClosed(db *sql.DB, cutoff time.Time) ([]string, error) {
	return query(db, `SELECT c.id, c.state || ' (agent ' || c.agent || '); history: ' || coalesce((SELECT
		string_agg(e.at::text || ' ' || e.state || ' ' || e.agent || ' ' || e.reason, '; ' ORDER BY e.id)
		FROM contact_events e WHERE e.contact_id = c.id), '')
		FROM contacts c WHERE c.ended_at IS NULL AND c.arrived_at < $1 ORDER BY c.id`, cutoff.UnixMilli())
}

// NotNodeLost lists the voice contacts answered by node (their id carries
// its number: idShift is server.ContactIDNodeShift) that were talking at
// the kill (answered before it, not ended before it) and did not end with
// reason node-lost.
func NotNodeLost(db *sql.DB, node uint64, idShift uint, killed time.Time) ([]string, error) {
	lo := int64(node << idShift)
	hi := int64((node+1)<<idShift - 1)
	return query(db, `SELECT id, coalesce(end_reason, '') || ' (state ' || state || ')' FROM contacts
		WHERE channel = 'voice' AND id BETWEEN $1 AND $2 AND answered_at IS NOT NULL AND answered_at < $3
		AND (ended_at IS NULL OR ended_at >= $3) AND end_reason <> 'node-lost' ORDER BY id`, lo, hi, killed.UnixMilli())
}

// AckedMessage is a chat message the server acknowledged (stored durably).
type AckedMessage struct {
	Contact uint64
	Seq     int64
	Text    string
}

// LostMessages lists the acknowledged messages missing from the store.
func LostMessages(db *sql.DB, acked []AckedMessage) ([]string, error) {
	var out []string
	for _, m := range acked {
		var text sql.NullString
		err := db.QueryRow(`SELECT text FROM chat_messages WHERE contact_id = $1 AND seq = $2`, int64(m.Contact), m.Seq).Scan(&text)
		switch {
		case err == sql.ErrNoRows:
			out = append(out, fmt.Sprintf("contact %d seq %d %q: not stored", m.Contact, m.Seq, m.Text))
		case err != nil:
			return out, err
		case text.String != m.Text:
			out = append(out, fmt.Sprintf("contact %d seq %d: stored %q, acked %q", m.Contact, m.Seq, text.String, m.Text))
		}
	}
	return out, nil
}

// OfferedTwiceAtOnce lists the contacts offered to a second agent while an
// offer to another was still open (no withdrawal, close or connect in
// between). Each console's events are read on their own, in the order its
// node sent them (the routing log's order): give it supervisors' consoles
// (Watch mode), which see every offer, withdrawal and connect with its
// agent. Arrival times at different consoles are not compared: two nodes
// deliver the same entry's commands a few milliseconds apart.
func OfferedTwiceAtOnce(cons []*Console) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range cons {
		if k.w == nil {
			continue
		}
		open := map[uint64]map[string]bool{}
		for _, e := range k.Events("") {
			agent, _ := e.Data["agent"].(string)
			if agent == "" {
				agent = k.User
			}
			id := e.Contact()
			switch e.Kind {
			case "offer":
				for a := range open[id] {
					if a != agent {
						msg := fmt.Sprintf("contact %d: offered to %s while offered to %s (console %s, %s)", id, agent, a, k.User,
							e.At.Format("15:04:05.000"))
						if !seen[msg] {
							seen[msg] = true
							out = append(out, msg)
						}
					}
				}
				if open[id] == nil {
					open[id] = map[string]bool{}
				}
				open[id][agent] = true
			case "offer_withdrawn", "connected":
				delete(open[id], agent)
			case "contact_closed":
				delete(open, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// WaitingLine is each line's waiting contacts in order of their place: a
// line is a queue's contacts of one channel, keyed "queue channel" (e.g.
// "gen-110 voice").
type WaitingLine map[string][]uint64

// Len is the number of contacts in all the lines.
func (w WaitingLine) Len() int {
	n := 0
	for _, ids := range w {
		n += len(ids)
	}
	return n
}

// Waiting reads every queue's waiting contacts with a supervisor's
// console (Watch mode), in line order: by the position the routing engine
// gives each (per channel). The reply's own order is the console's, by
// arrival as that node's console view saw it, with the contacts it had not
// seen yet (the leader's commands still on their way) at the end; a
// contact the engine does not list (position 0: pinned to an agent,
// parked, or offered meanwhile) has no place in line and is left out.
func Waiting(k *Console, queues []string) (WaitingLine, error) {
	out := WaitingLine{}
	for _, q := range queues {
		m, err := k.Call("waiting", map[string]any{"queue": q}, 10*time.Second)
		if err != nil {
			return nil, err
		}
		type placed struct {
			id  uint64
			pos int
		}
		lines := map[string][]placed{}
		list, _ := m["data"].([]any)
		for _, x := range list {
			c, _ := x.(map[string]any)
			if c["state"] != "waiting" {
				continue
			}
			id, _ := c["id"].(float64)
			pos, _ := c["position"].(float64)
			ch, _ := c["channel"].(string)
			if pos <= 0 {
				continue
			}
			key := q + " " + ch
			lines[key] = append(lines[key], placed{uint64(id), int(pos)})
		}
		for key, l := range lines {
			sort.SliceStable(l, func(i, j int) bool { return l[i].pos < l[j].pos })
			for _, p := range l {
				out[key] = append(out[key], p.id)
			}
		}
	}
	return out, nil
}

// LineKept lists the contacts waiting before that are still waiting after
// (in the same line) but not in the same order relative to each other (a contact that left
// the line meanwhile, answered or abandoned, is no breach).
func LineKept(before, after WaitingLine) []string {
	var out []string
	for q, ids := range before {
		pos := map[uint64]int{}
		for i, id := range after[q] {
			pos[id] = i
		}
		last, lastID := -1, uint64(0)
		for _, id := range ids {
			p, ok := pos[id]
			if !ok {
				continue
			}
			if p < last {
				out = append(out, fmt.Sprintf("%s: contact %d now ahead of %d", q, id, lastID))
			}
			last, lastID = p, id
		}
	}
	return out
}

// Report formats a check's breaches for a test failure.
func Report(name string, breaches []string) string {
	if len(breaches) > 20 {
		breaches = append(breaches[:20], fmt.Sprintf("... %d more", len(breaches)-20))
	}
	return name + ":\n  " + strings.Join(breaches, "\n  ")
}

// NodeLostCount counts the contacts that ended node-lost.
func NodeLostCount(db *sql.DB) (int, error) {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM contacts WHERE end_reason = 'node-lost'`).Scan(&n)
	return n, err
}

// StuckAgents lists the agents, among users, that a supervisor's console
// (Watch mode) shows reserved or busy with no live contact, or in wrap-up
// for more than wrapFor, once the load is over.
func StuckAgents(sup *Console, users []string, wrapFor time.Duration) ([]string, error) {
	m, err := sup.Call("agents", nil, 10*time.Second)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, u := range users {
		want[u] = true
	}
	list, _ := m["data"].([]any)
	var out []string
	for _, x := range list {
		a, _ := x.(map[string]any)
		id, _ := a["id"].(string)
		state, _ := a["state"].(string)
		active, _ := a["active"].(float64)
		since, _ := a["since"].(float64)
		if !want[id] {
			continue
		}
		switch {
		case (state == "reserved" || state == "busy") && active == 0:
			out = append(out, fmt.Sprintf("agent %s: %s with no contact", id, state))
		case state == "wrap_up" && time.Since(time.UnixMilli(int64(since))) > wrapFor:
			out = append(out, fmt.Sprintf("agent %s: in wrap-up since %s", id, time.UnixMilli(int64(since)).Format("15:04:05")))
		}
	}
	sort.Strings(out)
	return out, nil
}

// EndReasons counts the contacts by channel and end reason ("open" for
// those not ended), e.g. "voice citizen-bye 312".
func EndReasons(db *sql.DB) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT channel, CASE WHEN ended_at IS NULL THEN 'open' ELSE coalesce(end_reason, '') END AS r,
		count(*) FROM contacts GROUP BY channel, r ORDER BY channel, r`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ch, r string
		var n int
		if err := rows.Scan(&ch, &r, &n); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %s %d", ch, r, n))
	}
	return out, rows.Err()
}

// CallsAccounted matches SIPp's calls with the store (no call lost or
// duplicated): ids are SIPp's Call-IDs, failed those SIPp failed
// (CitizenLoad.Calls). A call breaks it when the store holds more than one
// call record for it (other than refused attempts: busy, answer-failed),
// when SIPp completed it and its contact is not closed, or when it failed
// after its answer on a node that recorded it (that node lived on) and its
// contact did not end node-lost. Listed: unrecorded, the calls SIPp
// completed that have no call record (the call's node writes it in the
// background when the call ends: it dies with a node killed in those
// milliseconds; with the cut calls, they must be matched by
// UnrecordedEnds). Counted: refused, the
// calls failed before their answer (no node could route them: the
// citizen's carrier may retry); cut, the calls failed after their answer
// that no node recorded (their node died: they must be among the contacts
// that ended node-lost).
func CallsAccounted(db *sql.DB, ids []string, failed map[string]CallFailure) (breaches, unrecorded []string, refused, cut int, err error) {
	type rec struct {
		records, contacts int
		contact           int64
		ended             bool
		reason, cause     string
	}
	got := map[string]*rec{}
	// A node that answered 503 (busy) or failed its answer has a call
	// record for a call Kamailio then gave another node: those records
	// are attempts, not the call.
	rows, err := db.Query(`SELECT r.call_id, count(*), count(DISTINCT r.contact_id), max(r.contact_id),
		bool_and(c.ended_at IS NOT NULL), max(coalesce(c.end_reason, '')), max(r.hangup_cause)
		FROM call_records r LEFT JOIN contacts c ON c.id = r.contact_id WHERE r.hangup_cause NOT IN ('busy', 'answer-failed')
		GROUP BY r.call_id`)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r rec
		var ended sql.NullBool
		if err := rows.Scan(&id, &r.records, &r.contacts, &r.contact, &ended, &r.reason, &r.cause); err != nil {
			return nil, nil, 0, 0, err
		}
		r.ended = ended.Valid && ended.Bool
		got[id] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, 0, err
	}
	for _, id := range ids {
		r := got[id]
		f, failedCall := failed[id]
		switch {
		case r != nil && (r.records > 1 || r.contacts > 1):
			breaches = append(breaches, fmt.Sprintf("call %s: %d call records, %d contacts", id, r.records, r.contacts))
		case !failedCall && r == nil:
			unrecorded = append(unrecorded, id)
		case !failedCall && !r.ended:
			breaches = append(breaches, fmt.Sprintf("call %s: completed by SIPp, contact %d not closed (cause %s)", id, r.contact, r.cause))
		case !failedCall:
		case f.BeforeAnswer:
			refused++
		case r == nil:
			cut++
		case r.reason != "node-lost":
			breaches = append(breaches, fmt.Sprintf("call %s: failed in SIPp (%s), contact %d ended %q (cause %s)", id, f.Why,
				r.contact, r.reason, r.cause))
		}
	}
	return breaches, unrecorded, refused, cut, nil
}

// UnrecordedEnds lists the voice contacts of node (their id carries its
// number: idShift is server.ContactIDNodeShift) that have no call record
// and either ended node-lost or ended in the window before its kill: the
// call's node writes its record in the background when the call ends, and
// a node killed then takes the queued record with it (and, when it led,
// the call's end too: its contact then ends node-lost although the
// citizen had hung up).
func UnrecordedEnds(db *sql.DB, node uint64, idShift uint, killed time.Time, window time.Duration) ([]string, error) {
	lo := int64(node << idShift)
	hi := int64((node+1)<<idShift - 1)
	return query(db, `SELECT c.id, c.end_reason || ' at ' || c.ended_at::text FROM contacts c
		WHERE c.channel = 'voice' AND c.id BETWEEN $1 AND $2
		AND (c.end_reason = 'node-lost' OR c.ended_at BETWEEN $3 AND $4)
		AND NOT EXISTS (SELECT 1 FROM call_records r WHERE r.contact_id = c.id) ORDER BY c.id`,
		lo, hi, killed.Add(-window).UnixMilli(), killed.UnixMilli())
}

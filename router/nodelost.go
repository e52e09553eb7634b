package router

import (
	"slices"
	"strconv"
)

// ContactIDNodeShift: in a cluster a contact id carries the number of the
// node that allocated it above this bit (server.Replica.NewContactID), so
// ids are unique without asking the other nodes. Node 0 is the single node.
const ContactIDNodeShift = 44

// Node returns the number of the cluster node that allocated id (0 on a
// single node). A voice contact's media lives on that node.
func (id ContactID) Node() uint16 { return uint16(id >> ContactIDNodeShift) }

// NodeLost: cluster node Node died (its heartbeat expired; the leader
// submits this). Its voice contacts had their SIP dialogs and RTP on it, so
// they end with EndNodeLost whatever their state: waiting, offered (the
// offer is withdrawn) or talking (the agent is freed into wrap-up). Booked
// callbacks, callbacks waiting to be placed and chats are left alone: they
// hold no media on the node (a chat re-homes when its citizen resumes
// elsewhere). A callback offered to an agent returns to the head of its
// queue. Contacts of other nodes are untouched. Node 0 (the single node)
// is never lost: the event does nothing for it.
type NodeLost struct {
	Node uint16
}

func (NodeLost) event() {}

// holdsMedia reports whether c has media (a SIP dialog, RTP) on the node
// that allocated its id: what NodeLost acts on.
func holdsMedia(c *contact) bool {
	if c.ch != Voice || c.state == CallbackBooked {
		return false
	}
	return !c.callback || c.state == Offered || c.state == Talking
}

// MediaNodes returns, per cluster node (not 0), how many live contacts
// hold media on it: the contacts a NodeLost for that node would act on.
func (e *Engine) MediaNodes() map[uint16]int {
	out := map[uint16]int{}
	for id, c := range e.contacts {
		if n := id.Node(); n != 0 && holdsMedia(c) {
			out[n]++
		}
	}
	return out
}

func (e *Engine) nodeLost(ev NodeLost) {
	if ev.Node == 0 {
		return
	}
	var ids []ContactID
	for id, c := range e.contacts {
		if id.Node() == ev.Node && holdsMedia(c) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // the map's order is random; every replica must decide the same
	why := "node " + strconv.Itoa(int(ev.Node)) + " lost"
	for _, id := range ids {
		c := e.contacts[id]
		if c == nil {
			continue
		}
		if c.callback && c.state == Offered {
			e.withdraw(c, why, false)
			e.requeue(c, nil, why)
			continue
		}
		e.close(c, EndNodeLost, why)
	}
}

package router

// LiveContacts returns the views of the live contacts of one channel, in
// id order (for the server's reconciler: O(contacts), not per event).
// Read-only.
func (e *Engine) LiveContacts(ch Channel) []ContactView {
	var out []ContactView
	for _, id := range sortedKeys(e.contacts) {
		if c := e.contacts[id]; c.ch == ch && c.state != Ended {
			out = append(out, e.contactView(c))
		}
	}
	return out
}

package chat

import "onecall/router"

// LiveContacts returns the chats not ended, for the server's reconciler.
func (s *Service) LiveContacts() map[router.ContactID]bool {
	s.mu.Lock()
	convs := make([]*conv, 0, len(s.convs))
	for _, cv := range s.convs {
		convs = append(convs, cv)
	}
	s.mu.Unlock()
	out := make(map[router.ContactID]bool, len(convs))
	for _, cv := range convs {
		cv.mu.Lock()
		if !cv.ended {
			out[cv.id] = true
		}
		cv.mu.Unlock()
	}
	return out
}

// EndOrphan ends a chat that routing no longer has (its final command was
// lost), as routing's close would with reason "stuck": the citizen gets
// the "ended" frame and the console its end event. It reports whether a
// live chat was ended.
func (s *Service) EndOrphan(id router.ContactID) bool {
	cv := s.conv(id)
	if cv == nil {
		return false
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.ended {
		return false
	}
	cv.finish(endReasonName(router.EndStuck))
	return true
}

package chat

import (
	"testing"
	"time"
)

// The hours view tells the page whether the line places callbacks at all,
// so the page never promises one on a line that does not.
func TestHoursViewSaysWhetherCallbacksArePlaced(t *testing.T) {
	s := &Service{}
	if j := s.hoursView(Hotline{Number: "110", Callbacks: true}, time.Now()); !j.Callbacks {
		t.Fatal("line with callbacks: callbacks false")
	}
	if j := s.hoursView(Hotline{Number: "109"}, time.Now()); j.Callbacks {
		t.Fatal("line without callbacks: callbacks true")
	}
}

package sip

import "testing"

// The total TCP cap leaves the descriptor reserve free.
func TestCapTotalKeepsTheReserve(t *testing.T) {
	for _, c := range []struct{ max, nofile, reserve, want int }{
		{10000, 1 << 20, 1024, 10000}, // plenty of descriptors
		{10000, 4096, 1024, 3072},     // the limit leaves 3072 after the reserve
		{10000, 0, 1024, 10000},       // limit unknown
		{10000, 512, 1024, 1},         // never below one
	} {
		if got := capTotal(c.max, c.nofile, c.reserve); got != c.want {
			t.Errorf("capTotal(%d, %d, %d) = %d, want %d", c.max, c.nofile, c.reserve, got, c.want)
		}
	}
}

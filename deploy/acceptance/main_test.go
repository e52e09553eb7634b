// Package acceptance runs issue 14's acceptance test: three `onecall
// serve` nodes in cluster mode on loopback, Kamailio in front, a real
// PostgreSQL, SIPp citizens, agents' phones and consoles, and kill -9 of
// nodes under load. The processes are started by internal/servetest.
package acceptance

import (
	"os"
	"testing"

	"onecall/internal/pgtest"
	"onecall/internal/servetest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	servetest.RemoveBin()
	os.Exit(code)
}

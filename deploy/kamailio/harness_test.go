package kamailio_test

import (
	"os"
	"testing"

	"onecall/internal/servetest"
)

// The tests here run real processes on 127.0.0.1: the onecall binary
// (built once per run), Kamailio in the foreground and SIPp peers; the
// harness (internal/servetest) is shared with the cluster's acceptance
// test.

func TestMain(m *testing.M) { os.Exit(servetest.Main(m)) }

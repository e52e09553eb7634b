package console

import (
	"os"
	"strings"
	"testing"

	"onecall/router"
)

// Every router end reason has its console name (the router's word with
// underscores) and a label in both languages of the console.
func TestEndReasonNamesAndLabels(t *testing.T) {
	js, err := os.ReadFile("web/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	for r := router.EndUnknown; r <= router.EndNodeLost; r++ {
		want := strings.ReplaceAll(r.String(), "-", "_")
		if got := endReasonName(r); got != want {
			t.Errorf("endReasonName(%v) = %q, want %q", r, got, want)
		}
		if n := strings.Count(string(js), " end_"+want+": '"); n != 2 {
			t.Errorf("end_%s has %d labels in i18n.js, want 2 (Korean and English)", want, n)
		}
	}
}

package app

import (
	"testing"

	"onecall/configs"
)

// The wallboard groups the shipped queues by the center and institution of
// the line that routes to them, with each queue's own SL target.
func TestConsoleQueuesFromShippedConfig(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	qs := consoleQueues(cfg)
	if len(qs) != len(cfg.Queues) {
		t.Fatalf("%d queue infos for %d queues", len(qs), len(cfg.Queues))
	}
	by := map[string]int{}
	for i, q := range qs {
		by[q.ID] = i
	}
	gen := qs[by["gen-110"]]
	if gen.NameKo != "정부민원안내(110)" || gen.Center != "acrc-110" || gen.Institution != "acrc" ||
		gen.InstitutionKo != "국민권익위원회" || gen.SLPercent != 80 || gen.SLWithinMS != 20000 {
		t.Errorf("gen-110: %+v", gen)
	}
	crisis := qs[by["crisis-109"]]
	if crisis.SLPercent != 90 || crisis.SLWithinMS != 10000 || crisis.Institution != "mohw" {
		t.Errorf("crisis-109: %+v", crisis)
	}
	grouped := 0
	for _, q := range qs {
		if q.Center != "" {
			grouped++
		}
	}
	if grouped < len(qs)/2 {
		t.Errorf("only %d of %d queues have a center", grouped, len(qs))
	}
	t.Logf("%d queues, %d with a center", len(qs), grouped)
}

package app

import (
	"testing"
	"time"

	"onecall/configs"
)

// The SIP front end gets each line's IVR timers from the config: sip.menu,
// overridden by the line's ivr block; a configured "retries: 0" reaches sip
// as "no replay".
func TestNumbersResolveMenuTimers(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, _, menu, ok := numbers{cfg}.Resolve("1345")
	if !ok || menu.Skip || menu.Timeout != 4*time.Second || menu.InterDigit != 2*time.Second || menu.Retries != 1 {
		t.Fatalf("1345 menu: ok %v skip %v timers %v %v %d", ok, menu.Skip, menu.Timeout, menu.InterDigit, menu.Retries)
	}
	n, _ := cfg.ResolveNumber("1345")
	n.IVR = &configs.MenuTimers{Timeout: configs.Duration(7 * time.Second), Retries: new(0)}
	_, _, menu, _ = numbers{cfg}.Resolve("1345")
	if menu.Timeout != 7*time.Second || menu.InterDigit != 2*time.Second || menu.Retries != -1 {
		t.Fatalf("overridden timers %v %v %d", menu.Timeout, menu.InterDigit, menu.Retries)
	}
}

package kamailio

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The rendered configuration passes Kamailio's own check (kamailio -c).
func TestRenderedConfigChecks(t *testing.T) {
	dir := t.TempDir()
	cfg, err := WriteFiles(dir, Config{Listen: "127.0.0.1:5999", Nodes: []string{"127.0.0.1:5998", "127.0.0.1:5997"},
		Trunks: []string{"127.0.0.1", "10.9.0.0/16"}, AgentNets: []string{"10.20.0.0/16"}, ProbeInterval: time.Second, TCP: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("kamailio", "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("kamailio -c: %v\n%s", err, out)
	}
}

func TestRenderRefusesBadInput(t *testing.T) {
	tr := []string{"127.0.0.1"}
	for _, c := range []Config{
		{Listen: "localhost:5060", Nodes: []string{"127.0.0.1:5070"}, Trunks: tr},
		{Listen: "127.0.0.1:5060", Trunks: tr},
		{Listen: "0.0.0.0:5060", Nodes: []string{"127.0.0.1:5070"}, Trunks: tr},
		{Listen: "127.0.0.1:5060", Nodes: []string{"node1:5070"}, Trunks: tr},
		{Listen: "127.0.0.1:5060", Nodes: []string{"127.0.0.1:5070"}, Advertise: "a b:1", Trunks: tr},
		{Listen: "127.0.0.1:5060", Nodes: []string{"127.0.0.1:5070"}},
		{Listen: "127.0.0.1:5060", Nodes: []string{"127.0.0.1:5070"}, Trunks: []string{"10.0.0.0/33"}},
		{Listen: "127.0.0.1:5060", Nodes: []string{"127.0.0.1:5070"}, Trunks: tr, AgentNets: []string{"x"}},
	} {
		if _, err := Render(c); err == nil {
			t.Errorf("Render(%+v) = nil error", c)
		}
	}
	b, err := DispatcherList(Config{Listen: "127.0.0.1:5060", Nodes: []string{"127.0.0.1:5070", "127.0.0.1:5080"}, Trunks: tr})
	if err != nil || !strings.Contains(string(b), "1 sip:127.0.0.1:5080 0 0\n") {
		t.Fatalf("list = %q, %v", b, err)
	}
}

package configs

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary documents to the strict decoder for every
// file kind and validates whatever decodes: no panics, and every problem
// has a message.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob("testdata/*/*.yaml")
	parts, _ := filepath.Glob("testdata/invalid/parts/*.yaml")
	for _, p := range append(append(seeds, more...), parts...) {
		// Small seeds only: the fuzzer minimizes every new input, which takes
		// minutes for the 100 KB hotlines.yaml (covered by the shipped tests).
		// Run: go test -run X -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 3s ./configs/
		if data, err := os.ReadFile(p); err == nil && len(data) <= 8<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("queues: [{id: q, skills: {ko: 9}, escalation: [{after: 1m, relax: {ko: 1}}]}]"))
	f.Add([]byte("numbers: [{number: '1', hours: {weekdays: ['23:00-01:00']}}]"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, data []byte) {
	{ // body kept in a block so tests can call it on chosen inputs
		if s := string(data); !equalNorm(s, NormalizeNumber(s)) {
			t.Fatalf("equalNorm disagrees with NormalizeNumber on %q", s)
		}
		b := &Bundle{Server: DefaultServer()}
		var qf queuesFile
		var r Roster
		var ps Problems
		var p Problems
		b.srcServer, p = decodeBytes("onecall.yaml", data, &b.Server)
		ps = append(ps, p...)
		b.srcHotlines, p = decodeBytes("hotlines.yaml", data, &b.Hotlines)
		ps = append(ps, p...)
		b.srcSkills, p = decodeBytes("skills.yaml", data, &b.Skills)
		ps = append(ps, p...)
		b.srcQueues, p = decodeBytes("queues.yaml", data, &qf)
		ps = append(ps, p...)
		r.src, p = decodeBytes("roster.yaml", data, &r)
		ps = append(ps, p...)
		b.Queues, b.Roster = qf.Queues, &r
		for _, x := range ps {
			if x.Msg == "" || x.File == "" {
				t.Fatalf("problem without message or file: %+v", x)
			}
		}
		b.ApplyDefaults()
		if err := b.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if b.Validate() == nil {
			if _, err := b.RouterConfig(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range b.Hotlines.Numbers {
			b.ResolveNumber(b.Hotlines.Numbers[i].Number)
			b.ResolveCall(b.Hotlines.Numbers[i].Number, string(data))
		}
	}
}

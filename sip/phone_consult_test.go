package sip

import "testing"

func TestParseReplaces(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want replacesID
		ok   bool
	}{
		{"abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1", replacesID{"abc@host", "t1", "f1"}, true},
		{"abc@host;from-tag=f1;to-tag=t1", replacesID{"abc@host", "t1", "f1"}, true},
		{"abc%40host%3bTo-Tag%3dt1%3bfrom-tag%3df1%3bearly-only", replacesID{"abc@host", "t1", "f1"}, true},
		{"abc;to-tag=t1", replacesID{}, false},
		{";to-tag=t1;from-tag=f1", replacesID{}, false},
		{"%zz;to-tag=a;from-tag=b", replacesID{"%zz", "a", "b"}, true},
		{"", replacesID{}, false},
	} {
		got, err := parseReplaces(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseReplaces(%q) = %+v, %v; want %+v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestReplacesNames(t *testing.T) {
	p := dialogPeer{localTag: "ours", remoteTag: "theirs"}
	for _, tc := range []struct {
		r    replacesID
		want bool
	}{
		{replacesID{"c1", "ours", "theirs"}, true},
		{replacesID{"c1", "theirs", "ours"}, true}, // the other party's view
		{replacesID{"c2", "ours", "theirs"}, false},
		{replacesID{"c1", "ours", "ours"}, false},
		{replacesID{"c1", "x", "theirs"}, false},
	} {
		if got := tc.r.names("c1", p); got != tc.want {
			t.Errorf("%+v names c1: %v, want %v", tc.r, got, tc.want)
		}
	}
	if (replacesID{"c1", "", ""}).names("c1", dialogPeer{}) {
		t.Error("a dialog without tags was named")
	}
}

func TestPhoneFailCode(t *testing.T) {
	for reason, want := range map[string]int{"busy": 486, "rejected": 603, "declined": 603, "no answer": 480,
		"phone not registered": 480, "failed": 480} {
		if got := phoneFailCode(reason); got != want {
			t.Errorf("phoneFailCode(%q) = %d, want %d", reason, got, want)
		}
	}
}

func FuzzParseReplaces(f *testing.F) {
	f.Add("abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1")
	f.Add("a;to-tag=;from-tag=%")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReplaces(s)
		if err == nil && (r.callID == "" || r.toTag == "" || r.fromTag == "") {
			t.Fatalf("parseReplaces(%q) accepted %+v", s, r)
		}
	})
}

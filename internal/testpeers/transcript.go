package testpeers

import "testing"

// TranscriptLine is a chat transcript's line as the console's
// "transcript" reply carries it (the fields the checks read).
type TranscriptLine struct {
	Seq  int64  `json:"seq"`
	Text string `json:"text"`
}

// CheckTranscript fails t unless lines hold every acknowledged message
// (acked: seq -> text) exactly once and with its text, no seq twice, and
// none of the refused texts.
func CheckTranscript(t testing.TB, lines []TranscriptLine, acked map[int64]string, refused ...string) {
	t.Helper()
	seen := map[int64]int{}
	for _, l := range lines {
		if seen[l.Seq]++; seen[l.Seq] > 1 {
			t.Fatalf("seq %d twice in the transcript", l.Seq)
		}
		if want, ok := acked[l.Seq]; ok && l.Text != want {
			t.Fatalf("seq %d is %q, acknowledged as %q", l.Seq, l.Text, want)
		}
		for _, r := range refused {
			if l.Text == r {
				t.Fatalf("a refused message (%q) is in the transcript", r)
			}
		}
	}
	for seq, text := range acked {
		if seen[seq] != 1 {
			t.Fatalf("acknowledged seq %d %q not in the transcript", seq, text)
		}
	}
}

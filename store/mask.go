package store

// MaskNumber hides a phone number for logs and the console: every digit but
// the last four becomes '*'; other characters are kept. A number of four
// digits or fewer is masked entirely.
func MaskNumber(s string) string {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	keep := 4
	if digits <= 4 {
		keep = 0
	}
	out := []rune(s)
	seen := 0
	for i, r := range out {
		if r >= '0' && r <= '9' {
			seen++
			if seen <= digits-keep {
				out[i] = '*'
			}
		}
	}
	return string(out)
}

package sip

import (
	"errors"
	"strings"
)

// ErrBadNumber means a number cannot be dialled: not a Korean phone number
// in a national ("010-1234-5678", "1345", "02-120") or international
// ("+82 10 1234 5678", "0082...", "82...") form.
var ErrBadNumber = errors.New("sip: not a dialable Korean number")

// NationalNumber normalises a Korean phone number to its national digits:
// "+82 10-1234-5678" -> "01012345678", "+82 2 120" -> "02120",
// "+82 1345" -> "1345" (short codes and 15xx/16xx/18xx numbers take no
// leading 0). Separators (space, '-', '.', '(', ')') are ignored; numbers
// of other countries and anything else are ErrBadNumber.
func NationalNumber(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case strings.ContainsRune(" -.()", r):
		default:
			return "", ErrBadNumber
		}
	}
	d := b.String()
	intl := false
	switch {
	case strings.HasPrefix(d, "+82"):
		d, intl = d[3:], true
	case strings.HasPrefix(d, "+"):
		return "", ErrBadNumber // another country
	case strings.HasPrefix(d, "0082"):
		d, intl = d[4:], true
	case strings.HasPrefix(d, "00"):
		return "", ErrBadNumber // an international prefix to another country
	case strings.HasPrefix(d, "82") && len(d) >= 10:
		d, intl = d[2:], true
	}
	if intl {
		d = strings.TrimPrefix(d, "0") // "+82 (0)10 ..."
		// Short codes (110, 1345) and 15xx/16xx/18xx numbers have no
		// trunk prefix; every other number gets its 0 back.
		if !(strings.HasPrefix(d, "1") && len(d) <= 8) {
			d = "0" + d
		}
	}
	if len(d) < 3 || len(d) > 12 || (d[0] != '0' && d[0] != '1') || strings.HasPrefix(d, "00") {
		return "", ErrBadNumber
	}
	return d, nil
}

// E164Number is NationalNumber in E.164 form: "+821012345678", "+821345".
func E164Number(s string) (string, error) {
	d, err := NationalNumber(s)
	if err != nil {
		return "", err
	}
	return "+82" + strings.TrimPrefix(d, "0"), nil
}

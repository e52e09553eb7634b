package console

import (
	_ "embed"
	"errors"
	"strings"
	"unicode/utf8"
)

// MinPasswordLen is the shortest password an account may be given.
const MinPasswordLen = 10

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the embedded list, lowercased.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{})
	for _, l := range strings.Split(commonPasswordsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = struct{}{}
		}
	}
	return m
}()

// checkNewPassword is the policy for a password given to an account by an
// admin or `onecall user`: at least MinPasswordLen characters, not one of
// the common passwords (case-insensitive), not a repetition of one
// character, and not the username. The demo roster is seeded without it.
func checkNewPassword(user, pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return errors.New("password must have at least 10 characters")
	}
	if len(pw) > 1024 {
		return errors.New("password must have at most 1024 bytes")
	}
	low := strings.ToLower(pw)
	if _, ok := commonPasswords[low]; ok {
		return errors.New("password is too common; choose another")
	}
	if strings.Count(low, string([]rune(low)[:1])) == utf8.RuneCountInString(low) {
		return errors.New("password repeats one character; choose another")
	}
	if len(user) >= 4 && strings.Contains(low, strings.ToLower(user)) {
		return errors.New("password must not contain the username")
	}
	return nil
}

package console

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"onecall/store"
)

// SeedUser is one account of a roster to create when missing.
type SeedUser struct {
	Username    string
	DisplayName string
	Role        string // agent | supervisor | admin
	Password    string
	Skills      map[string]int
	VoiceCap    int
	ChatCap     int
}

// SeedUsers creates the users that do not exist yet (existing accounts,
// their passwords and lockouts are left alone). realm is the SIP digest
// realm. Each distinct password is hashed once per call (a roster sharing
// one password, like the demo's, shares its argon2id hash): seeding is for
// demo and test rosters, not for real accounts (`onecall user add`). The
// new users are written in one transaction: all or none.
func SeedUsers(ctx context.Context, st UserStore, users []SeedUser, realm string) error {
	existing, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	have := map[string]bool{}
	for _, u := range existing {
		have[u.Username] = true
	}
	hashes := map[string]string{}
	var add []store.User
	for _, su := range users {
		if have[su.Username] {
			continue
		}
		if !validUsername(su.Username) {
			return fmt.Errorf("seed: invalid username %q", su.Username)
		}
		if !validRole(su.Role) {
			return fmt.Errorf("seed %s: invalid role %q", su.Username, su.Role)
		}
		h, ok := hashes[su.Password]
		if !ok {
			var err error
			if h, err = HashPassword(su.Password); err != nil {
				return fmt.Errorf("seed %s: %w", su.Username, err)
			}
			hashes[su.Password] = h
		}
		u := store.User{Username: su.Username, DisplayName: su.DisplayName, Role: su.Role, PasswordHash: h}
		u.SIPHA1MD5, u.SIPHA1SHA256 = SIPHA1(su.Username, realm, su.Password)
		u.Skills = su.Skills
		u.VoiceCap, u.ChatCap = su.VoiceCap, su.ChatCap
		have[su.Username] = true
		add = append(add, u)
	}
	if len(add) == 0 {
		return nil
	}
	if err := st.UpsertUsers(ctx, add); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func validUsername(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func newUser(name, role, pw, realm string) (store.User, error) {
	if !validUsername(name) {
		return store.User{}, fmt.Errorf("invalid username %q", name)
	}
	if !validRole(role) {
		return store.User{}, fmt.Errorf("invalid role %q (agent, supervisor, admin)", role)
	}
	u := store.User{Username: name, DisplayName: name, Role: role, VoiceCap: 1, ChatCap: 3}
	return u, setPassword(&u, pw, realm)
}

func setPassword(u *store.User, pw, realm string) error {
	h, err := HashPassword(pw)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	u.SIPHA1MD5, u.SIPHA1SHA256 = SIPHA1(u.Username, realm, pw)
	return nil
}

// parseSkills parses "labor=4,ko=5".
func parseSkills(s string) (map[string]int, error) {
	out := map[string]int{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || k == "" || err != nil || n < 1 || n > 5 {
			return nil, fmt.Errorf("bad skill %q (want name=1..5)", kv)
		}
		out[k] = n
	}
	return out, nil
}

func formatSkills(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

// UserCommand implements `onecall user ...`:
//
//	user add <name> --role R --password P [--skills labor=4,ko=5] [--display N] [--voice 1] [--chat 3]
//	user passwd <name> --password P
//	user disable <name>
//	user enable <name>
//	user list
//
// Every subcommand accepts --realm (SIP digest realm, default "onecall").
func UserCommand(ctx context.Context, st UserStore, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: user add|passwd|disable|enable|list")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(out)
	role := fs.String("role", RoleAgent, "agent | supervisor | admin")
	pw := fs.String("password", "", "password")
	skills := fs.String("skills", "", "skills, e.g. labor=4,ko=5")
	display := fs.String("display", "", "display name")
	voice := fs.Int("voice", 1, "voice capacity (0 or 1)")
	chat := fs.Int("chat", 3, "chat capacity")
	realm := fs.String("realm", "onecall", "SIP digest realm")
	var name string
	if sub != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("user %s: missing <name>", sub)
		}
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("user %s: unexpected arguments %v", sub, fs.Args())
	}
	switch sub {
	case "add":
		if _, err := st.UserByName(ctx, name); err == nil {
			return fmt.Errorf("user add: %s already exists", name)
		}
		sk, err := parseSkills(*skills)
		if err != nil {
			return err
		}
		if *voice < 0 || *voice > 1 || *chat < 0 || *chat > 10 {
			return errors.New("user add: --voice 0..1, --chat 0..10")
		}
		if err := checkNewPassword(name, *pw); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		u, err := newUser(name, *role, *pw, *realm)
		if err != nil {
			return err
		}
		u.Skills, u.VoiceCap, u.ChatCap = sk, *voice, *chat
		if *display != "" {
			u.DisplayName = *display
		}
		if err := st.UpsertUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(out, "added %s (%s)\n", name, u.Role)
	case "passwd":
		u, err := st.UserByName(ctx, name)
		if err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		if err := checkNewPassword(name, *pw); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		if err := setPassword(&u, *pw, *realm); err != nil {
			return err
		}
		if err := st.UpsertUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(out, "password changed for %s\n", name)
	case "disable", "enable":
		u, err := st.UserByName(ctx, name)
		if err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
		u.Disabled = sub == "disable"
		if err := st.UpsertUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(out, "%sd %s\n", sub, name)
	case "list":
		us, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-16s %-10s %-8s %s\n", "USER", "ROLE", "STATE", "SKILLS")
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(out, "%-16s %-10s %-8s %s\n", u.Username, u.Role, state, formatSkills(u.Skills))
		}
	default:
		return fmt.Errorf("user: unknown subcommand %q", sub)
	}
	return nil
}

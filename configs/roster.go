package configs

import "strings"

// Roster is demo-roster.yaml: users for --demo only. Passwords are stored
// in clear because they are the published demo password; real deployments
// create users with `onecall user`.
type Roster struct {
	Users []User `yaml:"users"`
	file  string
	src   *source
}

// User is one console/SIP user.
type User struct {
	Username string         `yaml:"username"`
	Password string         `yaml:"password"` // console and SIP phone password
	Role     string         `yaml:"role"`     // agent (default) | supervisor | admin
	Alias    string         `yaml:"alias"`    // display alias shown to citizens
	Skills   map[string]int `yaml:"skills"`   // skill id -> proficiency 1-5
	Voice    *int           `yaml:"voice"`    // voice capacity 0 or 1, default 1 for agents
	Chat     *int           `yaml:"chat"`     // chat capacity, default 3 for agents
	Queues   []string       `yaml:"queues"`   // explicit memberships; empty = any queue whose skills they meet
	Disabled bool           `yaml:"disabled"`
}

// IsAgent reports whether the user takes contacts (agents; supervisors
// with skills may too).
func (u *User) IsAgent() bool { return u.Role == "agent" || len(u.Skills) > 0 }

func intp(i int) *int { return &i }

func (r *Roster) applyDefaults() {
	for i := range r.Users {
		u := &r.Users[i]
		u.Username = strings.TrimSpace(u.Username)
		if u.Role == "" {
			u.Role = "agent"
		}
		if u.Voice == nil {
			if u.IsAgent() {
				u.Voice = intp(1)
			} else {
				u.Voice = intp(0)
			}
		}
		if u.Chat == nil {
			if u.IsAgent() {
				u.Chat = intp(3)
			} else {
				u.Chat = intp(0)
			}
		}
	}
}

// LoadRoster loads and validates a roster file on its own (skill ids are
// not checked; Bundle.Validate does that against skills.yaml).
func LoadRoster(path string) (*Roster, error) {
	var r Roster
	src, ps := decodeFile(path, &r)
	r.file, r.src = path, src
	if len(ps) > 0 {
		return nil, ps.err()
	}
	r.applyDefaults()
	r.validate(&ps, nil)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Agent returns the user with the given username.
func (r *Roster) Agent(username string) (*User, bool) {
	for i := range r.Users {
		if r.Users[i].Username == username {
			return &r.Users[i], true
		}
	}
	return nil, false
}

package configs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one configuration problem. File and Line are set where known
// (Line 0 = unknown).
type Problem struct {
	File string
	Line int
	Msg  string
}

// String renders "file:line: message" (omitting unknown parts).
func (p Problem) String() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	case p.File != "":
		return p.File + ": " + p.Msg
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Problems is every problem found by Load or Validate. It is the error
// type those functions return.
type Problems []Problem

// Error lists all problems, one per line.
func (ps *Problems) Error() string {
	if ps == nil {
		return ""
	}
	lines := make([]string, len(*ps))
	for i, p := range *ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(file string, line int, format string, args ...any) {
	*ps = append(*ps, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// sortStable orders problems by file then line, keeping discovery order
// for equal positions.
func (ps Problems) sortStable() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sortStable()
	return &ps
}

var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	reLine         = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// yamlProblems converts yaml.v3 decoding errors into Problems for file.
func yamlProblems(file string, err error) Problems {
	var msgs []string
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var ps Problems
	for _, m := range msgs {
		if g := reUnknownField.FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			ps.add(file, n, "unknown key %q", g[2])
			continue
		}
		if g := reLine.FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			ps.add(file, n, "%s", g[2])
			continue
		}
		ps.add(file, 0, "%s", strings.TrimPrefix(m, "yaml: "))
	}
	return ps
}

// source remembers a decoded file's node tree so validation can report
// line numbers for paths such as ("queues", 3, "strategy").
type source struct {
	file string
	root *yaml.Node
}

// line returns the line of the node at path, or of the deepest existing
// ancestor; 0 without a tree.
func (s *source) line(path ...any) int {
	if s == nil || s.root == nil {
		return 0
	}
	n := s.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			return best
		}
		n = next
		best = n.Line
	}
	return best
}

func (s *source) name() string {
	if s == nil {
		return ""
	}
	return s.file
}

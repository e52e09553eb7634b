package configs

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string:
// "15s", "2m", "1h30m". A bare 0 is accepted as zero.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML decodes a duration string; bad values are reported with the
// node's line and decoding continues.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration must be a string like \"15s\"", n.Line)}}
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad duration %q (want e.g. \"15s\", \"2m\")", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML renders the duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

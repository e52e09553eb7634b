package cluster

import (
	"strconv"
	"strings"
)

// NodeName is the NATS node id of onecall node number num: "n<num>".
func NodeName(num uint16) string { return "n" + strconv.Itoa(int(num)) }

// NodeNumber parses a node id written by NodeName.
func NodeNumber(id string) (uint16, bool) {
	s, ok := strings.CutPrefix(id, "n")
	if !ok || s == "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}

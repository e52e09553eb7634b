package cluster

import (
	"strconv"
	"strings"
)

// NodeNumber parses the node id of onecall node number n, "n<n>"
// (server.NodeName writes it).
func NodeNumber(id string) (uint16, bool) {
	s, ok := strings.CutPrefix(id, "n")
	if !ok || s == "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}

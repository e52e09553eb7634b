package server

import (
	"strconv"

	"onecall/router"
)

// Contact ids are unique across the nodes of a cluster: a node's ids carry
// its node number above bit ContactIDNodeShift, so two nodes never hand
// out the same id and need not ask each other. Node 0 is the single node:
// its ids are the plain counter they have always been. Ids stay below 2^53
// (nodes up to MaxNode), so they survive JSON and JavaScript numbers.
const (
	ContactIDNodeShift = router.ContactIDNodeShift
	MaxNode            = 1<<(53-ContactIDNodeShift) - 1
)

// ContactIDNode returns the node that allocated id (router.ContactID.Node).
func ContactIDNode(id router.ContactID) uint16 { return id.Node() }

// NodeName is node number n's id in the cluster (its NATS id): "n<n>".
func NodeName(n uint16) string { return "n" + strconv.Itoa(int(n)) }

// contactIDBase is the last id before node's first one.
func contactIDBase(node uint16) uint64 { return uint64(node) << ContactIDNodeShift }

// firstContactID returns where node's counter starts: after last when last
// is one of node's own ids (the highest the store holds), else at the
// node's base.
func firstContactID(node uint16, last uint64) uint64 {
	if last>>ContactIDNodeShift == uint64(node) {
		return last
	}
	return contactIDBase(node)
}

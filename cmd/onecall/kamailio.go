package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"onecall/deploy/kamailio"
)

// nodeList collects a repeated, comma-separable flag.
type nodeList []string

func (n *nodeList) String() string { return strings.Join(*n, ",") }
func (n *nodeList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*n = append(*n, s)
		}
	}
	return nil
}

// cmdKamailioConfig renders kamailio.cfg and dispatcher.list for Kamailio in
// front of the nodes (docs/cluster.md, "Kamailio in front").
func cmdKamailioConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kamailio-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c kamailio.Config
	var nodes, trunks, agents nodeList
	out := fs.String("out", ".", "directory to write kamailio.cfg and dispatcher.list into")
	fs.StringVar(&c.Listen, "listen", "", "Kamailio's SIP address (IP:port) as phones, trunks and nodes reach it (required)")
	fs.BoolVar(&c.TCP, "tcp", false, "listen on TCP too")
	fs.StringVar(&c.Advertise, "advertise", "", "host:port in Record-Route and Path when Kamailio is behind NAT")
	fs.Var(&nodes, "node", "an onecall node's SIP address (IP:port); repeat or comma-separate")
	fs.Var(&trunks, "trunk", "IP or CIDR that may send calls in (required); repeat or comma-separate")
	fs.Var(&agents, "agents", "IP or CIDR agent phones may register from (default: anywhere); repeat or comma-separate")
	fs.DurationVar(&c.ProbeInterval, "probe", 2*time.Second, "OPTIONS probe period per node (whole seconds)")
	fs.IntVar(&c.ProbeFailures, "probe-failures", 1, "failed probes in a row that take a node out")
	fs.DurationVar(&c.ProbeTimeout, "probe-timeout", time.Second, "how long a probe or a REGISTER may wait for a node")
	fs.DurationVar(&c.FirstReply, "first-reply", time.Second, "how long a node may take to send the first reply to an INVITE")
	fs.StringVar(&c.ModulePath, "modules", kamailio.DefaultModulePath, "Kamailio's module directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.Nodes, c.Trunks, c.AgentNets = nodes, trunks, agents
	p, err := kamailio.WriteFiles(*out, c)
	if err != nil {
		fmt.Fprintf(stderr, "kamailio-config: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and its dispatcher.list; check it with: kamailio -c -f %s\n", p, p)
	return 0
}

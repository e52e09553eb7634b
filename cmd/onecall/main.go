// Command onecall runs the onecall contact-center router and its tools.
//
//	onecall [serve] [flags]        run the server (default)
//	onecall check-config [paths]   validate configuration offline
//	onecall user ...               manage users in the database
//	onecall simulate ...           a working day through the routing engine
//	onecall staffing ...           agents needed per interval (Erlang C / A)
//	onecall prompts                render the IVR prompts from the configuration
//	onecall report ...             historical reports from the store (CSV, JSON, HTML)
//	onecall kamailio-config ...    Kamailio's configuration for a proxy in front of nodes
//	onecall version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args, stdout, stderr)
	case "user":
		return cmdUser(ctx, args, stdout, stderr)
	case "simulate":
		return cmdSimulate(args, stdout, stderr)
	case "staffing":
		return cmdStaffing(args, stdout, stderr)
	case "prompts":
		return cmdPrompts(args, stdout, stderr)
	case "report":
		return cmdReport(ctx, args, stdout, stderr)
	case "kamailio-config":
		return cmdKamailioConfig(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "onecall", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "onecall: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

const version = "0.1.0-dev"

const usage = `usage:
  onecall [serve] [--config FILE] [--data-dir DIR] [--http ADDR] [--sip ADDR] [--demo]
  onecall check-config [paths...]
  onecall user add NAME --role agent|supervisor|admin --password P [--skills labor=4,ko=5]
  onecall user passwd NAME --password P
  onecall user disable NAME
  onecall user list
  onecall simulate [--agents N] [--contacts N] [--surge NUMBER:FACTOR:FROM-TO] [--queues]
  onecall staffing --forecast FILE.csv [--interval 15m] [--patience 2m] [--max-occupancy 0.85] [--html FILE]
  onecall prompts [--config DIR] [--out sip/prompts]
  onecall report [--from 2026-12-07] [--to ...] [--by queue|line|center|agent] [--every 15m|1h|1d] [--format csv|json|html]
  onecall kamailio-config --node IP:PORT [--node ...] --trunk CIDR --listen IP:PORT [--agents CIDR] [--out DIR] [--probe 2s]
  onecall version
`

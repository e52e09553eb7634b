package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"onecall/server/app"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o app.Options
	fs.StringVar(&o.ConfigPath, "config", "configs/onecall.yaml", "configuration file (or its directory)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory (overrides data_dir)")
	fs.StringVar(&o.HTTPAddr, "http", "", "HTTP listen address (overrides listen.http)")
	fs.StringVar(&o.SIPAddr, "sip", "", "SIP UDP+TCP listen address (overrides listen.sip_udp/sip_tcp)")
	fs.BoolVar(&o.Demo, "demo", false, "load the demo roster; listen on loopback unless told otherwise")
	drain := fs.Duration("drain", 10*time.Second, "on shutdown, wait this long for calls in flight")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected arguments %v\n", fs.Args())
		return 2
	}
	o.DrainTimeout = *drain
	a, err := app.New(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	if err := a.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			fmt.Fprintf(stderr, "onecall: shutdown: %v\n", err)
		}
		return 1
	}
	udp, tcp := a.SIPAddrs()
	fmt.Fprintf(stdout, "onecall listening: http://%s  sip udp %s tcp %s\n", a.HTTPAddr(), udp, tcp)
	<-ctx.Done()
	fmt.Fprintln(stdout, "onecall: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *drain+15*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "onecall: shutdown: %v\n", err)
		return 1
	}
	return 0
}

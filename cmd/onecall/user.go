package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"onecall/configs"
	"onecall/console"
	"onecall/store"
)

// cmdUser manages users in the database, so a fresh install can create its
// first admin: onecall user [--config F] [--data-dir D] add|passwd|disable|list ...
func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/onecall.yaml", "configuration file (or its directory)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := *dataDir
	if dir == "" {
		b, err := configs.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "onecall: %v\n", err)
			return 1
		}
		dir = b.DataDir()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	st, err := store.Open(ctx, filepath.Join(dir, "onecall.db"))
	if err != nil {
		fmt.Fprintf(stderr, "onecall: store: %v\n", err)
		return 1
	}
	err = console.UserCommand(ctx, st, fs.Args(), stdout)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "onecall: user: %v\n", err)
		return 1
	}
	return 0
}

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
	var st *store.Store
	var err error
	if *dataDir != "" {
		// An explicit data directory: its SQLite database, no config needed.
		if err = os.MkdirAll(*dataDir, 0o750); err == nil {
			st, err = store.Open(ctx, filepath.Join(*dataDir, "onecall.db"))
		}
	} else {
		var b *configs.Bundle
		if b, err = configs.Load(*cfgPath); err != nil {
			fmt.Fprintf(stderr, "onecall: %v\n", err)
			return 1
		}
		st, err = openStore(ctx, b, b.DataDir(), false)
	}
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

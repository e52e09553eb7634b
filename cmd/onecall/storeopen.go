package main

import (
	"context"
	"fmt"
	"os"

	"onecall/configs"
	"onecall/store"
)

// openStore opens the store the configuration names (store.driver):
// SQLite's onecall.db in dataDir ("" for data_dir), or PostgreSQL at
// store.dsn. With mustExist a missing SQLite file is an error instead of a
// new empty database (the read-only commands).
func openStore(ctx context.Context, b *configs.Bundle, dataDir string, mustExist bool) (*store.Store, error) {
	driver, source := b.StoreSource(dataDir)
	if driver == configs.StoreSQLite {
		if mustExist {
			if _, err := os.Stat(source); err != nil {
				return nil, fmt.Errorf("no database at %s: %w", source, err)
			}
		} else if dataDir != "" {
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return nil, err
			}
		}
	}
	return store.OpenDriver(ctx, driver, source)
}

package configs

import "strings"

func (s Store) validate(r reporter) {
	switch s.Driver {
	case StoreSQLite:
		if s.DSN != "" {
			r.at("store", "dsn")("store.dsn is for driver postgres; driver sqlite keeps onecall.db in data_dir")
		}
	case StorePostgres:
		if strings.TrimSpace(s.DSN) == "" {
			r.at("store", "dsn")("store.dsn is required with driver postgres (e.g. postgres://onecall@db1:5432/onecall)")
		}
	default:
		r.at("store", "driver")("store.driver %q: want sqlite or postgres", s.Driver)
	}
}

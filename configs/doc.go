// Package configs owns onecall's typed configuration and the shipped YAML
// files next to it: onecall.yaml (server settings), hotlines.yaml (centers,
// numbers, aliases, public holidays), skills.yaml, queues.yaml and the demo
// roster demo-roster.yaml.
//
// Loading is strict: every file is decoded with unknown keys rejected
// (reported as file:line: unknown key "x"), defaults are applied, and
// Validate reports every problem at once as a *Problems error.
// RouterConfig maps a Bundle onto the pure router.Config.
//
// Concurrency: a Bundle is a plain value. Load and LoadRoster share no state
// and may run concurrently; a loaded Bundle must not be mutated while other
// goroutines read it (treat it as immutable and load a new one to reload).
// The package has no mutable globals.
package configs

// Package configs owns onecall's typed configuration and the shipped YAML
// files next to it: onecall.yaml (server settings), hotlines.yaml (centers,
// numbers, aliases, public holidays), skills.yaml, queues.yaml and the demo
// roster demo-roster.yaml.
//
// Loading is strict: every file is decoded with unknown keys rejected
// (reported as file:line: unknown key "x"), defaults are applied, and
// Validate reports every problem at once as a *Problems error.
// RouterConfig maps a Bundle onto the pure router.Config; ResolveNumber and
// ResolveCall find the number dialled (dashes optional, retired numbers
// followed to their successor, the bare 120 routed by caller area code);
// SkillsFor gives the skills of an IVR/chat language choice. Every key and
// default is documented in README.md.
//
// Concurrency: a Bundle is a plain value. Load and LoadRoster share no state
// and may run concurrently; a loaded Bundle must not be mutated while other
// goroutines read it (treat it as immutable and load a new one to reload).
// The package has no mutable globals.
package configs

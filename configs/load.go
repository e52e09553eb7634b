package configs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Bundle is the whole loaded configuration.
type Bundle struct {
	Server   Server   // onecall.yaml with defaults applied
	Hotlines Hotlines // hotlines.yaml: holidays, institutions, centers, numbers, aliases
	Skills   Skills   // skills.yaml: topics and languages
	Queues   []Queue  // queues.yaml, defaults applied, in file order
	Roster   *Roster  // demo-roster.yaml; nil when server.files.demo_roster is ""
	Dir      string   // directory of onecall.yaml; relative paths resolve against it

	srcServer, srcHotlines, srcSkills, srcQueues *source
}

// ConfigFile is the file name Load looks for in a directory.
const ConfigFile = "onecall.yaml"

// Load reads onecall.yaml (path is the file or its directory) and the files
// it references, applies defaults and validates. On failure the error is a
// *Problems listing every problem found.
func Load(path string) (*Bundle, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ConfigFile)
	}
	b := &Bundle{Server: DefaultServer(), Dir: filepath.Dir(path)}
	var ps Problems
	var p Problems
	b.srcServer, p = decodeFile(path, &b.Server)
	ps = append(ps, p...)
	if len(ps) > 0 {
		return nil, ps.err()
	}
	b.Server.applyDefaults()

	b.srcHotlines, p = decodeFile(b.Path(b.Server.Files.Hotlines), &b.Hotlines)
	ps = append(ps, p...)
	b.srcSkills, p = decodeFile(b.Path(b.Server.Files.Skills), &b.Skills)
	ps = append(ps, p...)
	var qf queuesFile
	b.srcQueues, p = decodeFile(b.Path(b.Server.Files.Queues), &qf)
	ps = append(ps, p...)
	b.Queues = qf.Queues
	rp := b.Path(b.Server.Files.DemoRoster)
	if b.Server.Files.DemoRoster == DefaultServer().Files.DemoRoster {
		if _, err := os.Stat(rp); errors.Is(err, os.ErrNotExist) {
			rp = "" // the default roster is optional; an explicit one is not
		}
	}
	if rp != "" {
		r := &Roster{file: rp}
		r.src, p = decodeFile(rp, r)
		ps = append(ps, p...)
		b.Roster = r
	}
	if len(ps) > 0 {
		return nil, ps.err()
	}
	b.ApplyDefaults()
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// Path resolves p against the config directory (absolute paths unchanged).
func (b *Bundle) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.Dir, p)
}

// DataDir is the data directory resolved against the config directory.
func (b *Bundle) DataDir() string { return b.Path(b.Server.DataDir) }

// StoreSource is the store's driver and what it opens: the SQLite file
// onecall.db in dataDir (the data directory, "" for DataDir()), or the
// PostgreSQL DSN.
func (b *Bundle) StoreSource(dataDir string) (driver, source string) {
	if b.Server.Store.Driver == StorePostgres {
		return StorePostgres, b.Server.Store.DSN
	}
	if dataDir == "" {
		dataDir = b.DataDir()
	}
	return StoreSQLite, filepath.Join(dataDir, "onecall.db")
}

// ApplyDefaults fills every unset field with its default. Load calls it;
// call it on a hand-built Bundle before Validate or RouterConfig. It is
// idempotent.
func (b *Bundle) ApplyDefaults() {
	b.Server.applyDefaults()
	b.Hotlines.applyDefaults()
	for i := range b.Queues {
		b.Queues[i].applyDefaults(b.Server.SIP.AnnounceEvery)
	}
	if b.Roster != nil {
		b.Roster.applyDefaults()
	}
}

// decodeFile strictly decodes one YAML document from path into out and
// keeps its node tree for line lookups. An empty file decodes to nothing.
func decodeFile(path string, out any) (*source, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		var ps Problems
		ps.add(path, 0, "%v", errors.Unwrap(err))
		if errors.Unwrap(err) == nil {
			ps[0].Msg = err.Error()
		}
		return nil, ps
	}
	return decodeBytes(path, data, out)
}

func decodeBytes(name string, data []byte, out any) (*source, Problems) {
	src := &source{file: name}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return src, yamlProblems(name, err)
	}
	src.root = &root
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode {
		var ps Problems
		ps.add(name, root.Content[0].Line, "top level must be a mapping")
		return src, ps
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return src, yamlProblems(name, err)
	}
	return src, nil
}

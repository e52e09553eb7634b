package configs

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every configuration key has an effect or is removed (issue 12): a key
// that Validate accepts but no code reads misleads the operator.
//
// The test type-checks every non-test Go file of the module (outside
// third_party) from source, walks the typed config structs by their yaml
// tags, and fails on a key whose field no code reads. Reads in the
// validators and the default fillers do not count: they check or fill a
// value, they do not give it an effect.

// unreadExceptions are keys that no code reads, each with the reason it
// stays. A key listed here that becomes read, or stops existing, fails
// the test so the list stays true.
var unreadExceptions = map[string]string{
	// The hotline catalogue keeps the CSV's provenance beside each line
	// for the people who maintain the file; TestShippedMatchesCSV checks
	// it against the CSV. README.md says so.
	"hotlines.yaml: numbers[].sources": "provenance for people; checked against the CSV",
	"hotlines.yaml: numbers[].notes":   "provenance for people; checked against the CSV",
	"hotlines.yaml: aliases[].sources": "provenance for people; checked against the CSV",
	"hotlines.yaml: aliases[].notes":   "provenance for people; checked against the CSV",
	// Catalogue text from the CSV, for people reading the file; README.md
	// marks these keys as informational.
	"hotlines.yaml: numbers[].status":    "CSV verification status, informational",
	"hotlines.yaml: numbers[].topic":     "CSV topic text, informational (routing uses the queue's skills)",
	"hotlines.yaml: aliases[].status":    "always historical, informational",
	"hotlines.yaml: aliases[].agency_ko": "CSV agency of a retired number, informational (the target's is shown)",
	"hotlines.yaml: aliases[].agency_en": "CSV agency of a retired number, informational (the target's is shown)",
	"hotlines.yaml: aliases[].topic":     "CSV topic text, informational",
	"hotlines.yaml: centers[].region":    "area code of a regional center, informational (areas[] routes callers)",
}

// configRoots are the top-level type of each shipped file.
var configRoots = []struct{ file, typ string }{
	{"onecall.yaml", "Server"},
	{"hotlines.yaml", "Hotlines"},
	{"skills.yaml", "Skills"},
	{"queues.yaml", "queuesFile"},
	{"demo-roster.yaml", "Roster"},
}

// configKey is one YAML key: its path ("chat.agent_alias",
// "numbers[].menu[].digit") and the struct field it decodes into.
type configKey struct {
	path  string
	field *types.Var
}

// yamlKeys walks t by its fields' yaml tags.
func yamlKeys(t types.Type, prefix string, seen map[*types.Named]bool) []configKey {
	switch u := t.(type) {
	case *types.Named:
		if seen[u] {
			return nil
		}
		seen[u] = true
		defer delete(seen, u)
		return yamlKeys(u.Underlying(), prefix, seen)
	case *types.Pointer:
		return yamlKeys(u.Elem(), prefix, seen)
	case *types.Slice:
		return yamlKeys(u.Elem(), prefix+"[]", seen)
	case *types.Map:
		return yamlKeys(u.Elem(), prefix+".*", seen)
	case *types.Struct:
		var out []configKey
		for i := range u.NumFields() {
			f := u.Field(i)
			name, _, _ := strings.Cut(reflect.StructTag(u.Tag(i)).Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			p := name
			if prefix != "" {
				p = prefix + "." + name
			}
			out = append(out, configKey{path: p, field: f})
			out = append(out, yamlKeys(f.Type(), p, seen)...)
		}
		return out
	}
	return nil
}

// notAReader says whether code in this function of this file only
// validates or fills defaults (its reads give a key no effect).
type notAReader func(pkg, file, fn string) bool

// configsNotAReader: the validators and default fillers of package configs.
func configsNotAReader(pkg, file, fn string) bool {
	if pkg != "onecall/configs" {
		return false
	}
	switch filepath.Base(file) {
	case "validate.go", "problems.go":
		return true
	}
	l := strings.ToLower(fn)
	return strings.HasPrefix(l, "validate") || strings.Contains(l, "default")
}

// fieldReads counts, per struct field, the selector expressions that read
// it (an assignment's left side is a write, not a read).
func fieldReads(fset *token.FileSet, files map[string][]*ast.File, infos map[string]*types.Info, skip notAReader) map[*types.Var]int {
	reads := map[*types.Var]int{}
	for pkg, fs := range files {
		info := infos[pkg]
		for _, f := range fs {
			file := fset.Position(f.Pos()).Filename
			for _, d := range f.Decls {
				fn := ""
				if fd, ok := d.(*ast.FuncDecl); ok {
					fn = fd.Name.Name
				}
				if skip(pkg, file, fn) {
					continue
				}
				written := map[ast.Expr]bool{}
				ast.Inspect(d, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.AssignStmt:
						if n.Tok == token.ASSIGN || n.Tok == token.DEFINE {
							for _, l := range n.Lhs {
								written[l] = true
							}
						}
					case *ast.SelectorExpr:
						if written[n] {
							return true
						}
						if sel := info.Selections[n]; sel != nil && sel.Kind() == types.FieldVal {
							if v, ok := sel.Obj().(*types.Var); ok {
								reads[v]++
							}
						}
					}
					return true
				})
			}
		}
	}
	return reads
}

// repo type-checks the module's non-test Go files from source. Imports
// outside the module are empty stand-ins: the config fields are all
// declared inside it, and go/types carries on past the unresolved names.
type repo struct {
	root  string
	fset  *token.FileSet
	pkgs  map[string]*types.Package
	files map[string][]*ast.File
	infos map[string]*types.Info
	stubs map[string]*types.Package
	dirs  map[string]string // import path -> directory
}

func loadRepo(t *testing.T, root string) *repo {
	t.Helper()
	r := &repo{root: root, fset: token.NewFileSet(), pkgs: map[string]*types.Package{},
		files: map[string][]*ast.File{}, infos: map[string]*types.Info{}, stubs: map[string]*types.Package{},
		dirs: map[string]string{}}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (strings.HasPrefix(name, ".") || name == "third_party" || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		ip := "onecall"
		if rel != "." {
			ip = "onecall/" + filepath.ToSlash(rel)
		}
		r.dirs[ip] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for ip := range r.dirs {
		if _, err := r.Import(ip); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Import type-checks a module package (once) or returns a stand-in.
func (r *repo) Import(ip string) (*types.Package, error) {
	if p, ok := r.pkgs[ip]; ok {
		return p, nil
	}
	dir, ours := r.dirs[ip]
	if !ours {
		if p, ok := r.stubs[ip]; ok {
			return p, nil
		}
		if ip == "unsafe" {
			return types.Unsafe, nil
		}
		name := path.Base(ip)
		if regexp.MustCompile(`^v[0-9]+$`).MatchString(name) {
			name = path.Base(path.Dir(ip))
		}
		name = strings.TrimPrefix(regexp.MustCompile(`\.v[0-9]+$`).ReplaceAllString(name, ""), "go-")
		p := types.NewPackage(ip, strings.ReplaceAll(name, "-", ""))
		p.MarkComplete()
		r.stubs[ip] = p
		return p, nil
	}
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		if _, none := err.(*build.NoGoError); none {
			p := types.NewPackage(ip, path.Base(ip))
			r.pkgs[ip] = p
			return p, nil
		}
		return nil, err
	}
	var fs []*ast.File
	for _, name := range append(slices.Clone(bp.GoFiles), bp.CgoFiles...) {
		f, err := parser.ParseFile(r.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: r, FakeImportC: true, Error: func(error) {}}
	p, _ := conf.Check(ip, r.fset, fs, info)
	r.pkgs[ip] = p
	r.files[ip] = fs
	r.infos[ip] = info
	return p, nil
}

var _ types.Importer = (*repo)(nil)

// unreadKeys lists the keys of root (a type of pkg) whose field nothing reads.
func unreadKeys(r *repo, pkg, root, file string, skip notAReader) (all []string, unread []string) {
	obj := r.pkgs[pkg].Scope().Lookup(root)
	if obj == nil {
		return nil, []string{"no type " + root}
	}
	reads := fieldReads(r.fset, r.files, r.infos, skip)
	for _, k := range yamlKeys(obj.Type(), "", map[*types.Named]bool{}) {
		key := file + ": " + k.path
		all = append(all, key)
		if reads[k.field] == 0 {
			unread = append(unread, key)
		}
	}
	return all, unread
}

func TestEveryConfigKeyIsRead(t *testing.T) {
	r := loadRepo(t, "..")
	known := map[string]bool{}
	for _, c := range configRoots {
		all, unread := unreadKeys(r, "onecall/configs", c.typ, c.file, configsNotAReader)
		if len(all) == 0 {
			t.Fatalf("%s: no keys found in %s", c.file, c.typ)
		}
		for _, k := range all {
			known[k] = true
		}
		for _, k := range unread {
			if _, ok := unreadExceptions[k]; ok {
				continue
			}
			t.Errorf("%s: no code reads this key (give it an effect or remove it and its doc)", k)
		}
		for k := range unreadExceptions {
			if strings.HasPrefix(k, c.file+": ") && !slices.Contains(unread, k) && known[k] {
				t.Errorf("%s is read now: drop it from unreadExceptions", k)
			}
		}
	}
	for k := range unreadExceptions {
		if !known[k] {
			t.Errorf("unreadExceptions names %s, which is no key", k)
		}
	}
	t.Logf("%d keys", len(known))
}

// The check can fail: a struct of a test package with a field that only
// a validator reads and one that nothing reads.
func TestUnreadKeyIsFound(t *testing.T) {
	dir := t.TempDir()
	src := "package keytest\n" +
		"type Conf struct {\n" +
		"\tRead int `yaml:\"read\"`\n" +
		"\tChecked int `yaml:\"checked\"`\n" +
		"\tUnread int `yaml:\"unread\"`\n" +
		"\tSub []Sub `yaml:\"sub\"`\n" +
		"\tIgnored int\n" +
		"}\n" +
		"type Sub struct {\n" +
		"\tUsed string `yaml:\"used\"`\n" +
		"\tSet string `yaml:\"set\"`\n" +
		"}\n" +
		"func Use(c *Conf) int { c.Sub[0].Set = \"x\"; return c.Read + len(c.Sub[0].Used) }\n" +
		"func validate(c Conf) bool { return c.Checked > 0 && c.Unread > 0 }\n"
	if err := os.WriteFile(filepath.Join(dir, "keytest.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadRepo(t, dir)
	all, unread := unreadKeys(r, "onecall", "Conf", "k.yaml", func(pkg, file, fn string) bool {
		return strings.HasPrefix(fn, "validate")
	})
	wantAll := []string{"k.yaml: read", "k.yaml: checked", "k.yaml: unread", "k.yaml: sub", "k.yaml: sub[].used", "k.yaml: sub[].set"}
	if !slices.Equal(all, wantAll) {
		t.Errorf("keys %q, want %q", all, wantAll)
	}
	wantUnread := []string{"k.yaml: checked", "k.yaml: unread", "k.yaml: sub[].set"}
	if !slices.Equal(unread, wantUnread) {
		t.Errorf("unread %q, want %q", unread, wantUnread)
	}
}

// readmeSections splits README.md by its "## <file>" headings.
func readmeSections(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	cur := ""
	for line := range strings.SplitSeq(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			cur = strings.TrimSpace(h)
			continue
		}
		out[cur] += line + "\n"
	}
	return out
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	keyWord    = regexp.MustCompile(`[a-z][a-z0-9_]*`)
)

// keyPathOf strips the "file: " prefix and the list/map markers.
func keyPathOf(k string) string {
	_, p, _ := strings.Cut(k, ": ")
	return strings.NewReplacer("[]", "", ".*", "").Replace(p)
}

// TestReadmeDocumentsEveryKey: every key of a shipped file is named in its
// README.md section, and every key a README table names exists.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	r := loadRepo(t, "..")
	secs := readmeSections(t)
	for _, c := range configRoots {
		sec, ok := secs[c.file]
		if !ok {
			t.Errorf("README.md has no section ## %s", c.file)
			continue
		}
		all, _ := unreadKeys(r, "onecall/configs", c.typ, c.file, configsNotAReader)
		words := map[string]bool{}
		for _, m := range backticked.FindAllStringSubmatch(sec, -1) {
			for _, w := range keyWord.FindAllString(m[1], -1) {
				words[w] = true
			}
		}
		paths := map[string]bool{}
		for _, k := range all {
			p := keyPathOf(k)
			paths[p] = true
			leaf := p[strings.LastIndex(p, ".")+1:]
			if !words[leaf] {
				t.Errorf("%s: README.md section %s does not name %q", k, c.file, leaf)
			}
		}
		// The first cell of each table row names keys: "`a.b`, `.c`" is a.b and a.c.
		for line := range strings.SplitSeq(sec, "\n") {
			cells := strings.Split(line, "|")
			if len(cells) < 3 || strings.TrimSpace(cells[1]) == "key" || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
				continue
			}
			prev := ""
			for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
				tok := strings.ReplaceAll(m[1], "[]", "")
				if strings.HasPrefix(tok, ".") && prev != "" {
					tok = prev[:strings.LastIndex(prev, ".")] + tok
				}
				prev = tok
				found := false
				for p := range paths {
					if p == tok || strings.HasSuffix(p, "."+tok) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("README.md section %s documents %q, which is no key of %s", c.file, m[1], c.file)
				}
			}
		}
	}
}

package chat

import (
	"encoding/json"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
)

// systemTexts are the "system" maps of web/i18n/<lang>.json: the system
// messages of a chat in every language of the page, where a translator
// edits them (read once; never changed).
var systemTexts = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	files, _ := fs.Glob(webFS, "web/i18n/*.json")
	for _, f := range files {
		b, err := webFS.ReadFile(f)
		if err != nil {
			continue
		}
		var d struct {
			System map[string]string `json:"system"`
		}
		if json.Unmarshal(b, &d) == nil && d.System != nil {
			out[strings.TrimSuffix(path.Base(f), ".json")] = d.System
		}
	}
	return out
})

// sysText returns a system message text in lang ("" is Korean); a text
// its file lacks is English. {0} is replaced by the first argument.
func sysText(lang, key string, args ...any) string {
	if lang == "" {
		lang = "ko"
	}
	t := systemTexts()
	s, ok := t[lang][key]
	if !ok {
		s, ok = t["en"][key]
	}
	if !ok {
		return key
	}
	for i, a := range args {
		var v string
		switch a := a.(type) {
		case string:
			v = a
		case int:
			v = strconv.Itoa(a)
		default:
			b, _ := json.Marshal(a)
			v = string(b)
		}
		s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", v)
	}
	return s
}

// defaultAlias is how agent number n is shown in lang without an alias.
func defaultAlias(lang string, n int) string {
	return sysText(lang, "agent", n)
}

package testpeers

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (npm, MPL-2.0; see axe/README.md), embedded into
// test binaries only.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeViolation is one failed axe-core rule with the nodes it failed on.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
		HTML    string `json:"html"`
	} `json:"nodes"`
}

func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n    ... %d more", len(v.Nodes)-5)
			break
		}
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
	}
	return b.String()
}

// Axe injects axe-core into the page of tab c, runs the WCAG 2.0/2.1 A and
// AA rules on the whole document and returns the violations.
func Axe(t testing.TB, c context.Context) []AxeViolation {
	t.Helper()
	if _, err := chromedp.Run(c, chromedp.Evaluate[chromedp.Void](axeSource+"\n;void 0")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(c, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		resultTypes: ['violations']
	}).then((r) => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe-core result: %v", err)
	}
	return vs
}

// AxeSerious fails the test with every serious or critical axe-core
// violation on the page of tab c (what names the page) and logs the
// others.
func AxeSerious(t testing.TB, c context.Context, what string) {
	t.Helper()
	var bad []string
	for _, v := range Axe(t, c) {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v.String())
		} else {
			t.Logf("axe %s: %s", what, v)
		}
	}
	if len(bad) > 0 {
		t.Errorf("axe %s: %d serious or critical violations:\n  %s", what, len(bad), strings.Join(bad, "\n  "))
	}
}

// KeyboardReachable fails the test when the page of tab c has a visible
// element that acts on a click (an onclick or onmousedown handler) but
// cannot take the keyboard's focus: a div made clickable instead of a
// button. Options of a listbox are exempt (their combobox moves through
// them with the arrow keys, aria-activedescendant). Handlers added with
// addEventListener are not visible to the check.
func KeyboardReachable(t testing.TB, c context.Context, what string) {
	t.Helper()
	out, err := chromedp.Run(c, chromedp.Evaluate[string](`(() => {
		const bad = [];
		for (const e of document.querySelectorAll('body *')) {
			if (!e.onclick && !e.onmousedown) continue;
			if (!e.getClientRects().length || e.closest('[hidden]')) continue;
			if (e.closest('[role=listbox]')) continue;
			if (e.tabIndex >= 0 || e.disabled) continue;
			bad.push(e.outerHTML.slice(0, 120));
		}
		return bad.join('\n');
	})()`))
	if err != nil {
		t.Fatalf("keyboard check %s: %v", what, err)
	}
	if out != "" {
		t.Errorf("%s: clickable but not reachable by keyboard:\n  %s", what, strings.ReplaceAll(out, "\n", "\n  "))
	}
}

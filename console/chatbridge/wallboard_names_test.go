package chatbridge_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A supervisor's wallboard in a center whose console has queue names but
// no queue descriptions: tiles, the SL chart and the drill-down name
// queues, never by id; the drill-down's reason column shows no English
// engine text in Korean; switching to English relabels the charts at once.
func TestWallboardNamesNotIDs(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	sup := r.tab()
	r.signIn(sup, "super01")
	r.citizen("1350", "홍길동")
	id := r.offerID(a, "홍길동")
	r.run(a, "accept", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(id)+`"] .accept`)))
	r.run(sup, "drill into labor", chromedp.Click(chromedp.CSS(`#tiles .tile[data-queue="labor"]`)))
	r.poll(sup, "the chat in the drill-down", `[...document.querySelectorAll('#waiting tbody td')].some((td) => td.textContent.includes('상담 중'))`)
	r.poll(sup, "the SL chart", `!!document.querySelector('#chartsl li[data-queue="labor"]')`)
	ids := regexp.MustCompile(`\b(labor|gen-110)\b`)
	for _, sel := range []string{"#tiles .tile .tname", "#chartsl .sln", "#drillq"} {
		if s := eval[string](r, sup, `[...document.querySelectorAll('`+sel+`')].map((e) => e.textContent).join(' | ')`); ids.MatchString(s) || s == "" {
			t.Errorf("%s shows %q", sel, s)
		}
	}
	if s := eval[string](r, sup, `document.querySelector('#tiles .tile[data-queue="labor"] .tname').textContent`); s != "고용노동 상담" {
		t.Errorf("labor tile named %q", s)
	}
	row := eval[string](r, sup, `document.querySelector('#waiting tbody tr').cells[4].textContent`)
	if regexp.MustCompile(`[a-z]{3,} [a-z]{2,}`).MatchString(strings.ReplaceAll(row, "agent01", "")) {
		t.Errorf("drill-down reason in Korean shows engine text: %q", row)
	}
	r.run(sup, "english", chromedp.Click(chromedp.ID("lang")))
	r.poll(sup, "charts in English", `(() => { const t = [...document.querySelectorAll('.charts .u-legend, .charts .sllegend')].map((e) => e.textContent).join(' ');
		return t.includes('Offered') && t.includes('Ready') && t.includes('Target') && !/\p{Script=Hangul}/u.test(t); })()`)
	if s := eval[string](r, sup, `document.querySelector('#tiles .tile[data-queue="labor"] .tname').textContent`); s != "Labor counselling" {
		t.Errorf("labor tile named %q in English", s)
	}
}

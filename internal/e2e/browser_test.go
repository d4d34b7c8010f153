//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/privacyops/dsr/internal/devstack/seed"
)

// TestBrowser drives the pages of web/ (the privacy center, the DPO console
// and the embeddable form) in headless Chromium against the local stack, at
// a desktop and a phone viewport, in English and German. It checks the flows
// end to end (the code from the outbox, the report downloaded, the extension
// notice e-mailed), runs axe-core on every state (serious and critical
// violations fail), takes a screenshot of every step and records the pages'
// weight and time to interactive (logged, never asserted).
//
// Chromium: $CHROMIUM, or `chromium` on the PATH (Debian: apt-get install
// chromium). axe-core: node_modules/axe-core (npm ci; make does it).
// Screenshots and metrics.json go to $DSR_SCREENSHOTS (relative to the
// repository root), or to a temporary folder.
func TestBrowser(t *testing.T) {
	b := newBrowserRun(t)

	t.Run("static-rules", b.staticRules)
	t.Run("headers", b.headers)
	t.Run("weights", b.weights)
	for _, lang := range []string{"en", "de"} {
		for _, vp := range viewports {
			t.Run(fmt.Sprintf("privacy/%s/%s", lang, vp.name), func(t *testing.T) { b.privacyFlow(t, lang, vp) })
		}
	}
	t.Run("privacy/bad-input", b.privacyBadInput)
	t.Run("privacy/rights", b.privacyRights)
	for _, vp := range viewports {
		t.Run("embed/"+vp.name, func(t *testing.T) { b.embedFlow(t, vp) })
	}
	for _, lang := range []string{"en", "de"} {
		for _, vp := range viewports {
			t.Run(fmt.Sprintf("console/%s/%s", lang, vp.name), func(t *testing.T) { b.consoleFlow(t, lang, vp) })
		}
	}
	t.Run("console/conflict", b.consoleConflict)
	t.Run("console/register", b.consoleRegister)
	t.Run("console/rectification", b.consoleRectification)

	b.writeMetrics(t)
}

type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

var viewports = []viewport{{"desktop", 1280, 800, false}, {"phone", 375, 667, true}}

// browserRun is one local stack and one headless Chromium for every subtest;
// each subtest opens its own tab in its own browser context (fresh storage).
type browserRun struct {
	stack     *localStack
	browser   context.Context
	axeJS     string
	shots     string
	dpoToken  string
	userAgent string

	// overdue is, per language, the id of a verified request past its due
	// date that the console flows of that language extend.
	overdue map[string]string

	mu      sync.Mutex
	metrics browserMetrics
}

type browserMetrics struct {
	Note  string                    `json:"note"`
	Pages map[string]*pageMetrics   `json:"pages"`
	Axe   map[string]map[string]int `json:"axe"` // page state → impact → violations
}

type pageMetrics struct {
	Path string `json:"path"`
	// BytesUncached sums Network.loadingFinished encodedDataLength (bytes on
	// the wire, headers included) of every request of the page load, with
	// the cache disabled, until the first control is enabled and the
	// network is idle.
	BytesUncached int64            `json:"bytesUncached"`
	Requests      int              `json:"requests"`
	ByType        map[string]int64 `json:"bytesByType"`
	// DOMInteractiveMs is the navigation timing's domInteractive (from
	// navigation start); FirstControlMs is when the first form control was
	// visible and enabled (performance.now()).
	DOMInteractiveMs float64        `json:"domInteractiveMs"`
	FirstControlMs   float64        `json:"firstControlMs"`
	LoadEventMs      float64        `json:"loadEventMs"`
	Axe              map[string]int `json:"axeViolationsByImpact"`
}

func newBrowserRun(t *testing.T) *browserRun {
	t.Helper()
	root := repoRoot(t)
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		var err error
		if chromium, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("chromium is missing: apt-get install chromium (or set CHROMIUM=/path/to/chromium)")
		}
	} else if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("CHROMIUM=%s: %v", chromium, err)
	}
	axeJS, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run `npm ci` in the repository root (make test does it)", err)
	}
	shots := os.Getenv("DSR_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if !filepath.IsAbs(shots) {
		shots = filepath.Join(root, shots)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browserRun{axeJS: string(axeJS), shots: shots, overdue: map[string]string{},
		metrics: browserMetrics{
			Note:  "measured on the local stack by internal/e2e/browser_test.go; never asserted",
			Pages: map[string]*pageMetrics{}, Axe: map[string]map[string]int{},
		}}

	b.stack = startLocalStack(t, "browser")
	var token []byte
	waitFor(t, "DPO token in .local/dpo-token (make run writes it once it serves)", 30*time.Second, func() bool {
		var err error
		token, err = os.ReadFile(filepath.Join(b.stack.Work, ".local", "dpo-token"))
		return err == nil && len(token) > 0
	})
	b.dpoToken = strings.TrimSpace(string(token))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("lang", "en-US"),
		chromedp.Flag("hide-scrollbars", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, bound to browserCtx (no timeout)
		t.Fatalf("start chromium: %v", err)
	}
	v, err := chromedp.CallBrowser(browserCtx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("browser: %s", v.Product)
	b.userAgent = v.UserAgent
	b.browser = browserCtx

	// The console flows extend a verified, open request that is past its due
	// date: one per language (the desktop flow finds it with the overdue
	// filter and extends it by a month, the phone flow opens it from the
	// list and extends it by the second month Art. 12(3) allows).
	for _, lang := range []string{"en", "de"} {
		b.overdue[lang] = makeOverdueRequest(t, b.stack, "overdue-"+lang+"@example.com")
	}
	return b
}

// ---------------------------------------------------------------- tabs

// tab is one page in its own browser context, with what it logged.
type tab struct {
	t         *testing.T
	b         *browserRun
	ctx       context.Context
	name      string // privacy-en-desktop …: the screenshots' prefix
	downloads string

	mu            sync.Mutex
	requests      []*network.Request
	reqIDs        map[network.RequestID]*network.Request
	inflight      map[network.RequestID]bool
	bytes         map[network.RequestID]float64
	types         map[network.RequestID]network.ResourceType
	problems      []string          // exceptions, console errors
	downloadsDone map[string]string // guid → url
	downloadURL   map[string]string
}

func (b *browserRun) newTab(t *testing.T, name, lang string, vp viewport) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, b: b, ctx: ctx, name: name, downloads: t.TempDir(),
		reqIDs: map[network.RequestID]*network.Request{}, inflight: map[network.RequestID]bool{},
		bytes: map[network.RequestID]float64{}, types: map[network.RequestID]network.ResourceType{},
		downloadsDone: map[string]string{}, downloadURL: map[string]string{}}
	if err := chromedp.Do(ctx); err != nil { // opens the tab, bound to ctx
		t.Fatalf("open tab: %v", err)
	}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatal(err)
	}
	acceptLanguage := "en-US,en;q=0.9"
	if lang == "de" {
		acceptLanguage = "de-DE,de;q=0.9"
	}
	var vpOpts []chromedp.EmulateViewportOption
	if vp.mobile {
		vpOpts = append(vpOpts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	bcID := chromedp.FromContext(ctx).BrowserContextID
	tb.do("set up the tab", 20*time.Second,
		chromedp.EmulateViewport(vp.w, vp.h, vpOpts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{MaxPostDataSize: ptr(int64(65536))}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
				UserAgent: b.userAgent, AcceptLanguage: acceptLanguage}); err != nil {
				return err
			}
			// Content-Security-Policy violations, as the page sees them.
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `document.addEventListener('securitypolicyviolation', e => { (window.__cspViolations ||= []).push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber) });`,
			}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bcID,
				DownloadPath: tb.downloads, EventsEnabled: ptr(true)})
			return err
		}))
	t.Cleanup(func() {
		if t.Failed() {
			// Not among the step screenshots (docs/screenshots stays clean).
			dir := filepath.Join(os.TempDir(), "dsr-browser-failures")
			if err := os.MkdirAll(dir, 0o755); err == nil {
				tb.shotTo(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png"))
			}
			ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
			defer cancel()
			if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + "\n" + (document.body ? document.body.innerText.slice(0, 800) : "")`)); err == nil {
				t.Logf("page at failure (screenshot in %s): %s", dir, text)
			}
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("the page reported: %s", p)
		}
	})
	return tb
}

func ptr[T any](v T) *T { return &v }

// listen runs in the tab's event loop: it records, and sends no command.
func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, ev.Request)
		tb.reqIDs[ev.RequestID] = ev.Request
		tb.inflight[ev.RequestID] = true
		tb.types[ev.RequestID] = ev.Type
	case *network.EventLoadingFinished:
		delete(tb.inflight, ev.RequestID)
		tb.bytes[ev.RequestID] = ev.EncodedDataLength
	case *network.EventLoadingFailed:
		delete(tb.inflight, ev.RequestID)
	case *cdpruntime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// A failed request is the API's answer (e.g. a 400 the page shows
		// in words, or the 409 the test provokes): not a page error.
		if e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
			tb.problems = append(tb.problems, fmt.Sprintf("%s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL))
		}
	case *browser.EventDownloadWillBegin:
		tb.downloadURL[ev.GUID] = ev.URL
	case *browser.EventDownloadProgress:
		if ev.State == browser.DownloadProgressStateCompleted {
			tb.downloadsDone[ev.GUID] = tb.downloadURL[ev.GUID]
		}
	}
}

// do runs actions within timeout; what names the step in a failure.
func (tb *tab) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its result into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", abbreviate(expr), err)
	}
	return v
}

// waitJS waits until the expression is truthy; what says what the test
// expected, for the failure message.
func (tb *tab) waitJS(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		tb.t.Fatalf("expected %s (%s), within %s: %v", what, abbreviate(expr), timeout, err)
	}
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// jsq is a JavaScript string literal.
func jsq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// visible is the JavaScript test that the element of sel is rendered.
func visible(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' })()`, jsq(sel))
}

func (tb *tab) waitVisible(sel string, timeout time.Duration) {
	tb.t.Helper()
	tb.waitJS(sel+" to be visible", visible(sel), timeout)
}

// click clicks sel as a person does (mouse or tap), once it is visible.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	for attempt := 1; ; attempt++ {
		tb.waitVisible(sel, 15*time.Second)
		ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
		err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
		cancel()
		// A list that renders again replaces the node between the query
		// and the click: query again.
		if err != nil && attempt < 3 && strings.Contains(err.Error(), "Could not find node") {
			continue
		}
		if err != nil {
			tb.t.Fatalf("click %s: %v", sel, err)
		}
		return
	}
}

// choose ticks a radio button or checkbox; those are often drawn by their
// label, so it is activated like the label's click does.
func (tb *tab) choose(sel string) {
	tb.t.Helper()
	tb.waitJS(sel+" to exist and be enabled", fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && !e.disabled })()`, jsq(sel)), 15*time.Second)
	eval[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.scrollIntoView({block: 'center'}); e.click(); return e.checked })()`, jsq(sel)))
}

// typeInto focuses sel, clears it and types text key by key.
func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.waitVisible(sel, 15*time.Second)
	eval[chromedp.Void](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (e.value !== '') { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})) } })()`, jsq(sel)))
	tb.do("type into "+sel, 30*time.Second, chromedp.Focus(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// paste focuses sel and inserts text at once, as a paste does.
func (tb *tab) paste(sel, text string) {
	tb.t.Helper()
	tb.waitVisible(sel, 15*time.Second)
	tb.do("paste into "+sel, 15*time.Second, chromedp.Focus(chromedp.CSS(sel)), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
		return err
	}))
}

// selectOption picks value in the <select> sel and tells the page.
func (tb *tab) selectOption(sel, value string) {
	tb.t.Helper()
	tb.waitVisible(sel, 15*time.Second)
	ok := eval[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (![...e.options].some(o => o.value === %s)) return false; e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, jsq(sel), jsq(value), jsq(value)))
	if !ok {
		tb.t.Fatalf("%s has no option %q", sel, value)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent.trim().replace(/\s+/g, ' ') : '' })()`, jsq(sel)))
}

func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? (e.getAttribute(%s) ?? '') : '' })()`, jsq(sel), jsq(name)))
}

func (tb *tab) navigate(path string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(tb.b.stack.URL+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	if resp.Status != http.StatusOK {
		tb.t.Fatalf("GET %s: %d %s: the local stack does not serve this page of web/", path, resp.Status, resp.StatusText)
	}
}

// setLanguage presses #lang-<lang> and checks the page switched.
func (tb *tab) setLanguage(lang string) {
	tb.t.Helper()
	tb.click("#lang-" + lang)
	tb.waitJS("<html lang="+lang+"> and #lang-"+lang+"[aria-pressed=true]",
		fmt.Sprintf(`document.documentElement.lang.startsWith(%s) && document.querySelector(%s)?.getAttribute('aria-pressed') === 'true'`, jsq(lang), jsq("#lang-"+lang)), 10*time.Second)
	other := map[string]string{"en": "de", "de": "en"}[lang]
	if got := tb.attr("#lang-"+other, "aria-pressed"); got != "false" {
		tb.t.Errorf("#lang-%s aria-pressed = %q after choosing %s, want \"false\"", other, got, lang)
	}
	if got := eval[string](tb, `localStorage.getItem('dsr.lang') ?? ''`); got != lang {
		tb.t.Errorf("localStorage dsr.lang = %q after choosing %s", got, lang)
	}
}

// checkPage checks what holds in every state: no CSP violation, no
// horizontal scroll. It then takes the screenshot and runs axe.
func (tb *tab) checkPage(step string) {
	tb.t.Helper()
	if v := eval[[]string](tb, `window.__cspViolations || []`); len(v) > 0 {
		tb.t.Errorf("%s: Content-Security-Policy violations: %s", step, strings.Join(v, "; "))
		eval[chromedp.Void](tb, `window.__cspViolations = []`)
	}
	if w := eval[[]int](tb, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
		// The outermost elements that reach past the viewport: the culprits.
		wide := eval[[]string](tb, `(() => { const W = document.documentElement.clientWidth, out = [];
			const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + [...e.classList].map(c => '.' + c).join('');
			for (const e of document.querySelectorAll('body *')) {
				const r = e.getBoundingClientRect(), p = e.parentElement;
				if (r.right > W + 1 && r.width > 0 && !(p && p.getBoundingClientRect().right > W + 1)) out.push(name(e) + ' (right edge ' + Math.round(r.right) + ' px)');
			} return out.slice(0, 5) })()`)
		tb.t.Errorf("%s: horizontal scroll: the page is %d px wide in a %d px viewport; wider than the viewport: %s", step, w[0], w[1], strings.Join(wide, ", "))
	}
	// A value the page forgot to turn into words.
	if raw := eval[[]string](tb, `(() => { const out = [], W = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + [...e.classList].map(c => '.' + c).join('');
		for (let n; (n = W.nextNode()); ) { const e = n.parentElement;
			if (/(^|\s)(null|undefined|NaN|\[object \w+\])(\s|$)/.test(n.data) && e.getClientRects().length > 0 && !e.closest('[hidden]'))
				out.push(name(e) + (e.parentElement ? ' in ' + name(e.parentElement) : '') + ': ' + JSON.stringify(n.data.trim().slice(0, 80))) }
		return out })()`); len(raw) > 0 {
		tb.t.Errorf("%s: the page shows raw values: %s", step, strings.Join(raw, "; "))
	}
	tb.shot(step)
	tb.axe(step)
}

// shot saves a full-page screenshot as <tab name>-<step>.png.
func (tb *tab) shot(step string) {
	tb.shotTo(filepath.Join(tb.b.shots, tb.name+"-"+step+".png"))
}

func (tb *tab) shotTo(path string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Error(err)
	}
}

type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []any  `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axe runs axe-core on the page (injected through DevTools, which the
// page's CSP does not govern) and fails on serious and critical violations.
func (tb *tab) axe(step string) {
	tb.t.Helper()
	if !eval[bool](tb, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](tb, tb.b.axeJS)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || 'unknown', help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("axe on %s: %v", step, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal(raw, &vs); err != nil {
		tb.t.Fatalf("axe result: %v", err)
	}
	counts := map[string]int{"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
	for _, v := range vs {
		counts[v.Impact]++
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		msg := fmt.Sprintf("axe %s on %s-%s: %s (%s): %s; nodes: %s", v.Impact, tb.name, step, v.ID, v.HelpURL, v.Help, strings.Join(targets, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			if len(v.Nodes) > 0 && v.Nodes[0].Summary != "" {
				msg += "\n    " + strings.ReplaceAll(v.Nodes[0].Summary, "\n", "\n    ")
			}
			tb.t.Error(msg)
		} else {
			tb.t.Log(msg)
		}
	}
	tb.b.mu.Lock()
	tb.b.metrics.Axe[tb.name+"-"+step] = counts
	tb.b.mu.Unlock()
}

// recordStatus records every text #console-status shows from now on.
func (tb *tab) recordStatus() {
	tb.t.Helper()
	eval[chromedp.Void](tb, `(() => { const e = document.querySelector('#console-status'); window.__statusLog = [];
		const note = () => { const t = e.textContent.trim().replace(/\s+/g, ' '); if (t && window.__statusLog.at(-1) !== t) window.__statusLog.push(t) };
		new MutationObserver(note).observe(e, {subtree: true, childList: true, characterData: true}) })()`)
}

func (tb *tab) statusLog() []string {
	tb.t.Helper()
	return eval[[]string](tb, `window.__statusLog || []`)
}

// storage is everything the page keeps in storage and cookies, as text.
func (tb *tab) storage() string {
	return eval[string](tb, `JSON.stringify({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})`)
}

type storedRequest struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	Type  string `json:"type"`
	API   string `json:"api"`
}

// stored reads sessionStorage dsr.request.
func (tb *tab) stored() storedRequest {
	tb.t.Helper()
	tb.waitJS("sessionStorage dsr.request", `!!sessionStorage.getItem('dsr.request')`, 15*time.Second)
	raw := eval[string](tb, `sessionStorage.getItem('dsr.request')`)
	var s storedRequest
	if err := json.Unmarshal([]byte(raw), &s); err != nil || s.ID == "" || s.Token == "" {
		tb.t.Fatalf("sessionStorage dsr.request is not {id, token, type, api}: %v (%d characters)", err, len(raw))
	}
	return s
}

// noTokenInURLs checks that the token is in no URL the tab loaded or shows,
// and in no other storage than sessionStorage.
func (tb *tab) noTokenLeaks(token string) {
	tb.t.Helper()
	if href := eval[string](tb, `location.href`); strings.Contains(href, token) {
		tb.t.Errorf("the status token is in location.href")
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	hist, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, e := range hist.Entries {
		if strings.Contains(e.URL, token) {
			tb.t.Errorf("the status token is in the history: entry %d", e.ID)
		}
	}
	tb.mu.Lock()
	for _, r := range tb.requests {
		if strings.Contains(r.URL, token) {
			tb.t.Errorf("the status token is in the URL of a request (%s %s…)", r.Method, r.URL[:min(len(r.URL), 40)])
		}
	}
	tb.mu.Unlock()
	st := eval[string](tb, `JSON.stringify({local: {...localStorage}, cookie: document.cookie})`)
	if strings.Contains(st, token) {
		tb.t.Errorf("the status token is in localStorage or a cookie")
	}
	if !strings.Contains(eval[string](tb, `JSON.stringify({...sessionStorage})`), token) {
		tb.t.Errorf("sessionStorage does not hold the status token")
	}
}

// sent returns the requests the tab sent whose URL path ends with suffix.
func (tb *tab) sent(method, suffix string) []*network.Request {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []*network.Request
	for _, r := range tb.requests {
		u := r.URL
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		if r.Method == method && strings.HasSuffix(u, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// postData is the body of r.
func postData(r *network.Request) string {
	var b strings.Builder
	for _, e := range r.PostDataEntries {
		b.Write(e.Bytes)
	}
	return b.String()
}

// download clicks sel and returns the downloaded file and the URL it came
// from.
func (tb *tab) download(sel string) ([]byte, string) {
	tb.t.Helper()
	tb.mu.Lock()
	before := len(tb.downloadsDone)
	tb.mu.Unlock()
	tb.click(sel)
	deadline := time.Now().Add(30 * time.Second)
	for {
		tb.mu.Lock()
		if len(tb.downloadsDone) > before {
			for guid, url := range tb.downloadsDone {
				delete(tb.downloadsDone, guid)
				tb.mu.Unlock()
				body, err := os.ReadFile(filepath.Join(tb.downloads, guid))
				if err != nil {
					tb.t.Fatalf("%s: downloaded file: %v", sel, err)
				}
				return body, url
			}
		}
		tb.mu.Unlock()
		if time.Now().After(deadline) {
			tb.t.Fatalf("clicking %s downloaded nothing within 30 s", sel)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- the privacy center

// privacyFlow: ada asks for access, enters the e-mailed code, waits until
// the request is completed, downloads the HTML report, and finds the
// status again after a reload.
func (b *browserRun) privacyFlow(t *testing.T, lang string, vp viewport) {
	tb := b.newTab(t, fmt.Sprintf("privacy-%s-%s", lang, vp.name), lang, vp)
	tb.navigate("/privacy/")
	tb.waitVisible("#request-form", 20*time.Second)
	if lang == "de" {
		// A German browser gets German without asking.
		tb.waitJS(`<html lang="de"> for a browser whose navigator.languages start with de`,
			`navigator.languages[0].startsWith('de') && document.documentElement.lang.startsWith('de')`, 10*time.Second)
	}
	tb.setLanguage(lang)
	tb.checkPage("1-form")

	tb.choose(`input[name="type"][value="access"]`)
	tb.typeInto("#email", "  Ada@Example.com ")
	tb.click("#submit")
	tb.waitVisible("#code-form", 20*time.Second)
	if posts := tb.sent("POST", "/v1/requests"); len(posts) != 1 {
		t.Errorf("the form sent %d POST /v1/requests, want 1", len(posts))
	} else {
		var body struct {
			Type     string `json:"type"`
			Email    string `json:"email"`
			Language string `json:"language"`
		}
		if err := json.Unmarshal([]byte(postData(posts[0])), &body); err != nil {
			t.Errorf("POST /v1/requests body: %v", err)
		} else if body.Email != strings.TrimSpace(body.Email) || body.Email == "" || body.Type != "access" {
			t.Errorf("POST /v1/requests sent type %q and an address of %d characters with spaces around it: want it trimmed", body.Type, len(body.Email))
		} else if body.Language != lang {
			t.Errorf("POST /v1/requests sent language %q, want the page's %q", body.Language, lang)
		}
	}
	req := tb.stored()
	if req.Type != "access" {
		t.Errorf("sessionStorage dsr.request type = %q, want access", req.Type)
	}
	tb.noTokenLeaks(req.Token)
	tb.checkPage("2-code")

	code := readCode(t, b.stack, req.ID)
	tb.typeInto("#code", code)
	tb.click("#verify")
	tb.waitJS(`#status-value[data-status="completed"]`, `document.querySelector('#status-value')?.dataset.status === 'completed'`, 60*time.Second)
	tb.waitVisible("#download-html", 10*time.Second)
	status, due := tb.text("#status"), tb.text("#due")
	t.Logf("#status %q, #due %q", status, due)
	if status == "" {
		t.Errorf("#status is empty once the request is completed")
	}
	tb.checkPage("3-completed")

	before := eval[string](tb, `location.href`)
	page, from := tb.download("#download-html")
	if !strings.HasPrefix(from, "blob:") {
		t.Errorf("the HTML report was downloaded from a %q URL, want blob: (fetch → blob → object URL)", strings.SplitN(from, ":", 2)[0])
	}
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(page))), "<!doctype html>") || !strings.Contains(string(page), "INV-2026-0100") {
		t.Errorf("the downloaded file is not ada's HTML report (%d bytes; want <!DOCTYPE html> … INV-2026-0100)", len(page))
	}
	if want := `<html lang="` + lang + `">`; !strings.Contains(string(page), want) {
		t.Errorf("the HTML report is not in the page's language: want %s", want)
	}
	if after := eval[string](tb, `location.href`); after != before {
		t.Errorf("downloading navigated the page")
	}
	if lang == "en" && vp.name == "desktop" {
		report, _ := tb.download("#download-json")
		var v map[string]any
		if err := json.Unmarshal(report, &v); err != nil || !strings.Contains(string(report), "INV-2026-0100") {
			t.Errorf("the downloaded JSON report is not ada's report: %v (%d bytes)", err, len(report))
		}
	}

	tb.do("reload", 30*time.Second, chromedp.Reload())
	tb.waitJS(`#status-value[data-status="completed"] after a reload`, `document.querySelector('#status-value')?.dataset.status === 'completed'`, 30*time.Second)
	tb.noTokenLeaks(req.Token)
	tb.checkPage("4-reloaded")
}

// privacyBadInput: an address that is no address gets a field error, and
// the code field takes six digits only, refused before anything is sent.
func (b *browserRun) privacyBadInput(t *testing.T) {
	vp := viewports[0]
	tb := b.newTab(t, "privacy-en-desktop", "en", vp)
	tb.navigate("/privacy/")
	tb.waitVisible("#request-form", 20*time.Second)
	tb.setLanguage("en")
	tb.choose(`input[name="type"][value="access"]`)
	tb.typeInto("#email", "ada.example.com")
	tb.click("#submit")
	tb.waitVisible(`#errors li[data-field="email"]`, 15*time.Second)
	if got := tb.attr("#email", "aria-invalid"); got != "true" {
		t.Errorf(`#email aria-invalid = %q, want "true"`, got)
	}
	if got := tb.attr("#email", "aria-describedby"); !strings.Contains(" "+got+" ", " email-error ") {
		t.Errorf(`#email aria-describedby = %q, want it to name email-error`, got)
	}
	if tb.text("#email-error") == "" {
		t.Errorf("#email-error is empty")
	}
	if got := tb.attr("#errors", "role"); got != "alert" {
		t.Errorf(`#errors role = %q, want "alert"`, got)
	}
	t.Logf("email error: %q", tb.text(`#errors li[data-field="email"]`))
	tb.checkPage("5-email-error")

	tb.typeInto("#email", "linus@example.com")
	tb.click("#submit")
	tb.waitVisible("#code-form", 20*time.Second)
	for _, attr := range [][2]string{{"inputmode", "numeric"}, {"pattern", "[0-9]{6}"}, {"autocomplete", "one-time-code"}} {
		if got := tb.attr("#code", attr[0]); got != attr[1] {
			t.Errorf("#code %s = %q, want %q", attr[0], got, attr[1])
		}
	}
	tb.typeInto("#code", "12ab")
	tb.click("#verify")
	tb.waitJS("#code-error to say why 12ab is refused", visible("#code-error")+` && document.querySelector('#code-error').textContent.trim() !== ''`, 10*time.Second)
	if got := tb.attr("#code", "aria-invalid"); got != "true" {
		t.Errorf(`#code aria-invalid = %q after 12ab, want "true"`, got)
	}
	if n := len(tb.sent("POST", "/verify")); n != 0 {
		t.Errorf("the code 12ab was sent (%d POST …/verify): it must be refused before sending", n)
	}
	t.Logf("code error: %q", tb.text("#code-error"))
	tb.checkPage("6-code-error")
}

// ---------------------------------------------------------------- the embeddable form

// deepJS defines q(sel): the first match in the document or any shadow root.
const deepJS = `const q = (sel, root = document) => { const e = root.querySelector(sel); if (e) return e;
  for (const h of root.querySelectorAll('*')) { if (h.shadowRoot) { const f = q(sel, h.shadowRoot); if (f) return f } } return null };`

// embedFlow: the custom element on the example page renders, submits an
// access request and shows the code step.
func (b *browserRun) embedFlow(t *testing.T, vp viewport) {
	tb := b.newTab(t, "embed-"+vp.name, "en", vp)
	tb.navigate("/embed/example.html")
	tb.waitJS("<dsr-request-form> to be defined and rendered with an e-mail field",
		`customElements.get('dsr-request-form') && (() => { `+deepJS+` const e = q('dsr-request-form input[type=email], dsr-request-form input[name=email], input[type=email]'); return !!e && !e.disabled && e.getClientRects().length > 0 })()`, 20*time.Second)
	t.Logf("embed language: %s", eval[string](tb, `document.querySelector('dsr-request-form').getAttribute('lang') || document.documentElement.lang`))
	tb.checkPage("1-form")
	before := outboxFiles(t, b.stack)
	ok := eval[string](tb, `(() => { `+deepJS+`
		const form = document.querySelector('dsr-request-form'); const root = form.shadowRoot || form;
		const access = q('input[name="type"][value="access"]', root); if (access) access.click();
		const email = q('input[type=email], input[name=email]', root); if (!email) return 'no e-mail field';
		email.focus(); email.value = 'grace@example.com';
		email.dispatchEvent(new Event('input', {bubbles: true, composed: true})); email.dispatchEvent(new Event('change', {bubbles: true, composed: true}));
		const submit = q('button[type=submit], #submit, input[type=submit]', root); if (!submit) return 'no submit button';
		submit.click(); return 'ok' })()`)
	if ok != "ok" {
		t.Fatalf("embed form: %s", ok)
	}
	tb.waitJS("the embedded form's code step (an input with autocomplete=one-time-code)",
		`(() => { `+deepJS+` const e = q('input[autocomplete="one-time-code"]'); return !!e && e.getClientRects().length > 0 })()`, 20*time.Second)
	if n := len(tb.sent("POST", "/v1/requests")); n != 1 {
		t.Errorf("the embedded form sent %d POST /v1/requests, want 1", n)
	}
	waitFor(t, "the code e-mail of the embedded form's request", 20*time.Second, func() bool { return len(outboxFiles(t, b.stack)) > len(before) })
	tb.checkPage("2-code")
}

// ---------------------------------------------------------------- the DPO console

// consoleFlow: the DPO signs in with the local token, finds the overdue
// request, extends it with a reason (confirmed in the dialog), sees the
// announcement, and the person's notice is in the outbox.
func (b *browserRun) consoleFlow(t *testing.T, lang string, vp viewport) {
	id := b.overdue[lang]
	tb := b.newTab(t, fmt.Sprintf("console-%s-%s", lang, vp.name), lang, vp)
	tb.signIn(lang)

	if vp.name == "desktop" {
		tb.choose("#filter-overdue")
		tb.click("#apply-filters")
		tb.waitJS("at least one tr.overdue after filtering overdue", `document.querySelectorAll('#requests tr.overdue').length >= 1`, 20*time.Second)
		tb.waitJS("the overdue request's row tr.overdue[data-id="+id+"]", fmt.Sprintf(`!!document.querySelector('#requests tr.overdue[data-id=%s]')`, jsq(id)), 10*time.Second)
		if got := tb.text(fmt.Sprintf(`#requests tr[data-id=%s]`, jsq(id))); got == "" {
			t.Errorf("the overdue row has no text")
		}
	} else {
		tb.waitJS("the request's row tr[data-id="+id+"]", fmt.Sprintf(`!!document.querySelector('#requests tr[data-id=%s]')`, jsq(id)), 20*time.Second)
	}
	tb.checkPage("2-list")

	tb.click(fmt.Sprintf(`#requests tr[data-id=%s] button.open`, jsq(id)))
	tb.waitVisible("#detail", 15*time.Second)
	tb.waitJS(`#audit-check[data-intact="true"]`, `document.querySelector('#audit-check')?.dataset.intact === 'true'`, 20*time.Second)
	t.Logf("#detail-status %s, #detail-due %q", tb.attr("#detail-status", "data-status"), tb.text("#detail-due"))
	tb.checkPage("3-detail")

	notices := extensionNotices(t, b.stack, id)
	tb.selectOption("#extend-months", "1")
	tb.typeInto("#extend-reason", map[string]string{
		"en": "The records of three shops have to be merged first.",
		"de": "Die Daten dreier Filialen müssen erst zusammengeführt werden.",
	}[lang])
	tb.click("#extend")
	tb.waitJS("the confirmation dialog#confirm to be open", `document.querySelector('dialog#confirm')?.open === true`, 10*time.Second)
	tb.checkPage("4-dialog")
	dueBefore := tb.text("#detail-due")
	tb.recordStatus()
	tb.click("#confirm-yes")
	tb.waitJS("#detail-due to show the new date", fmt.Sprintf(`(document.querySelector('#detail-due')?.textContent.trim().replace(/\s+/g, ' ') || '') !== %s`, jsq(dueBefore)), 20*time.Second)
	if errs := tb.text("#console-errors"); errs != "" {
		t.Errorf("#console-errors after the extension: %q", errs)
	}
	// The announcement follows the interim "sending" text: wait for a
	// second text, or a single one that is not an interim "…".
	tb.waitJS("the extension's announcement in #console-status", `(() => { const cur = document.querySelector('#console-status')?.textContent.trim() || '', log = window.__statusLog || [];
		return cur !== '' && (log.length >= 2 || !cur.endsWith('…')) })()`, 10*time.Second)
	announced := tb.statusLog()
	t.Logf("#detail-due %q → %q; #console-status said %q, and says %q", dueBefore, tb.text("#detail-due"), announced, tb.text("#console-status"))
	if tb.text("#console-status") == "" {
		t.Errorf("#console-status is empty once the extension is done (it said %q meanwhile): the announcement must stay", announced)
	}
	tb.waitJS(`#audit-check[data-intact="true"] after the extension`, `document.querySelector('#audit-check')?.dataset.intact === 'true'`, 20*time.Second)
	tb.checkPage("5-extended")

	// The person is told the new date.
	var mail string
	waitFor(t, "a new extension notice in the outbox for "+id, 20*time.Second, func() bool {
		n := extensionNotices(t, b.stack, id)
		if len(n) > len(notices) {
			mail = n[len(n)-1]
			return true
		}
		return false
	})
	view := dpoGet(t, b.stack, b.dpoToken, "/v1/dpo/requests/"+id)
	due, err := time.Parse(time.RFC3339, view.DueAt)
	if err != nil {
		t.Fatalf("the request's dueAt %q: %v", view.DueAt, err)
	}
	if !strings.Contains(mail, due.Format("2 January 2006")) && !strings.Contains(mail, due.AddDate(0, 0, 1).Format("2 January 2006")) {
		t.Errorf("the extension notice does not name the new due date %s:\n%s", due.Format("2 January 2006"), mail)
	}
	if tb.text("#extension") == "" {
		t.Errorf("#extension is empty after the extension")
	}
}

// consoleRegister: the DPO registers grace's letter, received two days ago,
// in the console: asked first, it is registered; the status token is shown
// once (never stored) and reads the request through the public API, whose
// due date is one month after the receipt (Art. 12(3)).
func (b *browserRun) consoleRegister(t *testing.T) {
	tb := b.newTab(t, "console-register", "en", viewports[0])
	tb.signIn("en")
	received := time.Now().Add(-48 * time.Hour).Truncate(time.Minute)
	tb.selectOption("#register-type", "access")
	tb.typeInto("#register-email", seed.Grace)
	// datetime-local takes the browser's local time: written from the instant.
	eval[chromedp.Void](tb, fmt.Sprintf(`(() => { const d = new Date(%d), p = (n) => String(n).padStart(2, '0');
		const e = document.querySelector('#register-received'); e.value = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
		e.dispatchEvent(new Event('input', {bubbles: true})) })()`, received.UnixMilli()))
	tb.selectOption("#register-channel", "letter")
	tb.selectOption("#register-identity", "signature_compared")
	tb.click("#register")
	tb.waitJS("the confirmation dialog#confirm to be open", `document.querySelector('dialog#confirm')?.open === true`, 10*time.Second)
	tb.click("#confirm-yes")
	tb.waitVisible("#register-result", 20*time.Second)
	tb.checkPage("register")
	if errs := tb.text("#console-errors"); errs != "" {
		t.Errorf("#console-errors after the registration: %q", errs)
	}
	token := tb.text("#register-token")
	if len(token) < 22 {
		t.Fatalf("#register-token %q", token)
	}
	if strings.Contains(tb.storage(), token) {
		t.Errorf("the status token is in localStorage, sessionStorage or a cookie")
	}
	sent := tb.sent("POST", "/v1/dpo/requests")
	if len(sent) != 1 {
		t.Errorf("%d registrations sent, want 1", len(sent))
	}
	for _, r := range sent {
		if r.Headers["Idempotency-Key"] == nil && r.Headers["idempotency-key"] == nil {
			t.Errorf("the registration was sent without an Idempotency-Key")
		}
	}
	// The announcement names the request's id (a ULID).
	id := regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`).FindString(tb.text("#register-done"))
	c := &client{t: t, base: b.stack.URL}
	var v struct {
		ID         string    `json:"id"`
		ReceivedAt time.Time `json:"receivedAt"`
		DueAt      time.Time `json:"dueAt"`
	}
	if s, _, raw := c.do("GET", "/v1/requests/"+id, token, nil, &v); id == "" || s != 200 {
		t.Fatalf("GET /v1/requests/%s with the shown status token: %d %s", id, s, raw)
	}
	due := templateDeadline(t).Due(received, 1)
	if !v.ReceivedAt.Equal(received.UTC()) || !v.DueAt.Equal(due) {
		t.Errorf("registered request received %s, due %s; want received %s, due %s", v.ReceivedAt, v.DueAt, received.UTC(), due)
	}
}

// signIn opens the console, chooses the language and pastes the local
// DPO token. The token must stay in memory only.
func (tb *tab) signIn(lang string) {
	tb.t.Helper()
	tb.navigate("/console/")
	tb.waitVisible("#token", 20*time.Second)
	tb.setLanguage(lang)
	tb.checkPage("1-sign-in")
	tb.paste("#token", tb.b.dpoToken)
	tb.click("#sign-in")
	tb.waitVisible("#requests", 20*time.Second)
	if strings.Contains(tb.storage(), tb.b.dpoToken) {
		tb.t.Errorf("the DPO token is in localStorage, sessionStorage or a cookie: it must stay in memory")
	}
	if strings.Contains(eval[string](tb, `location.href`), tb.b.dpoToken[:20]) {
		tb.t.Errorf("the DPO token is in the URL")
	}
}

// consoleConflict: the DPO acts on a request that changed meanwhile (it
// was rejected by a direct API call after the console showed it): 409, and
// the console offers #reload.
func (b *browserRun) consoleConflict(t *testing.T) {
	id := submitRequest(t, b.stack, "mallory@example.com")
	tb := b.newTab(t, "console-en-desktop", "en", viewports[0])
	tb.signIn("en")
	tb.selectOption("#filter-status", "awaiting_verification")
	tb.click("#apply-filters")
	tb.waitJS("the row tr[data-id="+id+"]", fmt.Sprintf(`!!document.querySelector('#requests tr[data-id=%s]')`, jsq(id)), 20*time.Second)
	tb.click(fmt.Sprintf(`#requests tr[data-id=%s] button.open`, jsq(id)))
	tb.waitJS(`#detail-status[data-status="awaiting_verification"]`, `document.querySelector('#detail-status')?.dataset.status === 'awaiting_verification'`, 15*time.Second)

	// Meanwhile, someone else rejects it.
	dpoPost(t, b.stack, b.dpoToken, "/v1/dpo/requests/"+id+"/reject", `{"reason":"excessive","detail":"The same request came twice a day for a week."}`, http.StatusOK)

	tb.selectOption("#reject-reason", "manifestly_unfounded")
	tb.typeInto("#reject-detail", "Sent by a script, not by the person.")
	tb.click("#reject")
	tb.waitJS("the confirmation dialog#confirm to be open", `document.querySelector('dialog#confirm')?.open === true`, 10*time.Second)
	tb.click("#confirm-yes")
	tb.waitVisible("#reload", 20*time.Second)
	t.Logf("#console-errors %q", tb.text("#console-errors"))
	if tb.text("#console-errors") == "" {
		t.Errorf("#console-errors is empty after a 409")
	}
	if got := tb.attr("#console-errors", "role"); got != "alert" {
		t.Errorf(`#console-errors role = %q, want "alert"`, got)
	}
	tb.checkPage("6-conflict")
	tb.click("#reload")
	tb.waitJS(`#detail-status[data-status="rejected"] after #reload`, `document.querySelector('#detail-status')?.dataset.status === 'rejected'`, 20*time.Second)
}

// ---------------------------------------------------------------- rules outside the flows

// staticRules checks web/ as files: no inline script or style, no style=""
// or on*="" attributes, ES modules only, the referrer meta; no eval, no
// HTML built from strings.
func (b *browserRun) staticRules(t *testing.T) {
	root := filepath.Join(repoRoot(t), "web")
	inline := []struct{ re, what string }{
		{`<script(?:\s[^>]*)?>\s*[^<\s]`, "an inline <script>"},
		{`<style[\s>]`, "a <style> element"},
		{`\sstyle\s*=`, `a style="" attribute`},
		{`\son[a-z]+\s*=`, `an on*="" handler attribute`},
	}
	jsRules := []struct{ re, what string }{
		{`\beval\s*\(`, "eval("},
		{`new\s+Function\s*\(`, "new Function("},
		{`\.innerHTML\s*[+]?=\s*(?:[^'"\s;]|'[^']|"[^"])`, "innerHTML assigned something other than an empty string"},
		{`\.outerHTML\s*=`, "outerHTML assigned"},
		{`insertAdjacentHTML\s*\(`, "insertAdjacentHTML("},
		{`document\.write\s*\(`, "document.write("},
		{`localStorage\.setItem\(\s*['"](?:dsr\.request|[^'"]*token)`, "a token in localStorage"},
	}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.Contains(rel, "node_modules") || strings.HasSuffix(rel, ".test.mjs") || strings.HasSuffix(rel, "_test.js") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rules []struct{ re, what string }
		switch filepath.Ext(path) {
		case ".html":
			rules = inline
			for _, tag := range mustCompile(`<script\b[^>]*>`).FindAllString(string(data), -1) {
				if !strings.Contains(tag, `type="module"`) {
					t.Errorf("web/%s: %s is not an ES module (type=\"module\")", rel, tag)
				}
			}
			if !strings.Contains(string(data), `<meta name="referrer" content="no-referrer">`) {
				t.Errorf("web/%s has no <meta name=\"referrer\" content=\"no-referrer\">", rel)
			}
		case ".js", ".mjs":
			rules = jsRules
		}
		for _, r := range rules {
			for _, loc := range mustCompile(r.re).FindAllIndex(data, -1) {
				line := 1 + strings.Count(string(data[:loc[0]]), "\n")
				t.Errorf("web/%s:%d: %s: %s", rel, line, r.what, abbreviate(string(data[loc[0]:min(len(data), loc[1]+40)])))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// headers checks the served pages' security headers, / and /config.json.
func (b *browserRun) headers(t *testing.T) {
	for _, p := range []string{"/privacy/", "/console/", "/embed/example.html"} {
		resp, err := http.Get(b.stack.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", p, csp, want)
			}
		}
		if p != "/embed/example.html" && !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q lacks frame-ancestors 'none'", p, csp)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q, want no-referrer", p, got)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(b.stack.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 || !strings.HasSuffix(resp.Header.Get("Location"), "/privacy/") {
		t.Errorf("GET /: %s to %q, want a redirect to /privacy/", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = http.Get(b.stack.URL + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg struct {
		API     *string `json:"api"`
		Console struct {
			SignIn string `json:"signIn"`
		} `json:"console"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil || cfg.API == nil || *cfg.API != "" || cfg.Console.SignIn != "token" {
		t.Errorf(`GET /config.json: %v, %+v; want {"api": "", "console": {"signIn": "token"}}`, err, cfg)
	}
}

// weights loads each page with the cache disabled and records what it
// transferred and when it became usable. Logged, never asserted.
func (b *browserRun) weights(t *testing.T) {
	for _, p := range []struct{ name, path, control string }{
		{"privacy", "/privacy/", "#email"},
		{"console", "/console/", "#token"},
		{"embed", "/embed/example.html", "input[type=email], input[name=email]"},
	} {
		t.Run(p.name, func(t *testing.T) {
			tb := b.newTab(t, p.name+"-weight", "en", viewports[0])
			tb.do("disable the cache", 10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
				return err
			}))
			tb.navigate(p.path)
			ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
			defer cancel()
			first, err := chromedp.Run(ctx, chromedp.Poll[float64](`(() => { `+deepJS+` const e = q(`+jsq(p.control)+`); return !!e && !e.disabled && e.getClientRects().length > 0 ? performance.now() : 0 })()`,
				chromedp.WithPollingTimeout(20*time.Second)))
			if err != nil {
				t.Fatalf("%s: the first control %s never became enabled: %v", p.path, p.control, err)
			}
			tb.waitJS("the load event", `document.readyState === 'complete'`, 20*time.Second)
			waitFor(t, "the network to be idle", 20*time.Second, func() bool {
				tb.mu.Lock()
				defer tb.mu.Unlock()
				return len(tb.inflight) == 0
			})
			nav := eval[map[string]float64](tb, `(() => { const n = performance.getEntriesByType('navigation')[0]; return {domInteractive: n.domInteractive, load: n.loadEventEnd} })()`)
			m := &pageMetrics{Path: p.path, ByType: map[string]int64{}, DOMInteractiveMs: nav["domInteractive"], FirstControlMs: first, LoadEventMs: nav["load"]}
			tb.mu.Lock()
			origin := b.stack.URL
			for id, r := range tb.reqIDs {
				if !strings.HasPrefix(r.URL, origin+"/") && !strings.HasPrefix(r.URL, "data:") && !strings.HasPrefix(r.URL, "blob:") {
					t.Errorf("%s loads %s from another origin: no third-party code, fonts or images", p.path, r.URL)
				}
				m.Requests++
				m.BytesUncached += int64(tb.bytes[id])
				m.ByType[string(tb.types[id])] += int64(tb.bytes[id])
			}
			tb.mu.Unlock()
			t.Logf("%s: %d bytes uncached in %d requests %v; domInteractive %.0f ms, first control enabled %.0f ms, load %.0f ms",
				p.path, m.BytesUncached, m.Requests, m.ByType, m.DOMInteractiveMs, m.FirstControlMs, m.LoadEventMs)
			b.mu.Lock()
			b.metrics.Pages[p.name] = m
			b.mu.Unlock()
		})
	}
}

// writeMetrics adds the axe counts per page and writes metrics.json.
func (b *browserRun) writeMetrics(t *testing.T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, m := range b.metrics.Pages {
		m.Axe = map[string]int{"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
		for state, counts := range b.metrics.Axe {
			if strings.HasPrefix(state, name+"-") {
				for impact, n := range counts {
					m.Axe[impact] += n
				}
			}
		}
	}
	states := make([]string, 0, len(b.metrics.Axe))
	for s := range b.metrics.Axe {
		states = append(states, s)
	}
	sort.Strings(states)
	for _, s := range states {
		t.Logf("axe %s: %v", s, b.metrics.Axe[s])
	}
	out, err := json.MarshalIndent(b.metrics, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.shots, "metrics.json")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots and metrics: %s", b.shots)
}

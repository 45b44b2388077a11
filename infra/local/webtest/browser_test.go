package webtest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
)

var (
	st       *stack.Stack
	chrome   context.Context // the one Chromium of the run; tests open isolated tabs in it
	chromium string
)

func TestMain(m *testing.M) {
	chromium = findChromium()
	if chromium == "" {
		fmt.Fprintln(os.Stderr, "!!! webtest: chromium not found (apt-get install chromium, or set TIERFLOW_CHROMIUM): the browser tests cannot run")
		os.Exit(1)
	}
	// Every browser and test client shares 127.0.0.1; the per-IP limit is tested in public-api.
	cfg := stacktest.Config{Params: map[string]string{"LeadRatePerIp": "1000000"}}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// The benchmarks count request units: every function reaches DynamoDB through the
		// meter (the tests' paint figures are taken without the extra hop).
		ddbMeter = &meter{}
		cfg.DynamoDBProxy = ddbMeter.proxy
	}
	os.Exit(stacktest.MainWith(m, cfg, &st))
}

func findChromium() string {
	if p := os.Getenv("TIERFLOW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser launches Chromium with the flags that work on a closed network.
func startBrowser(t testing.TB) {
	t.Helper()
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"), chromedp.UserDataDir(profile))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", chromium, err)
	}
	chrome = ctx
}

// screen is a window size: desktop, or a 390 × 844 phone with touch.
type screen struct {
	name          string
	width, height int64
	phone         bool
}

var (
	desktop = screen{"desktop", 1280, 900, false}
	phone   = screen{"phone", 390, 844, true}
)

// tab opens a tab in a fresh browser context (its own storage), sized to s, that
// records Content-Security-Policy violations and uncaught exceptions for clean().
func tab(t testing.TB, s screen, acceptLanguage string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chrome, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancelTimeout)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			t.Errorf("uncaught exception in the page: %s", describeException(ev))
		}
	}()
	// The listener reports through t, which panics once the test has ended: stop it first.
	t.Cleanup(func() {
		cancelTimeout()
		<-listened
	})
	var vp []chromedp.EmulateViewportOption
	if s.phone {
		vp = append(vp, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(s.width, s.height, vp...)))
	if acceptLanguage != "" {
		ua, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`))
		must(t, err)
		_, err = chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: acceptLanguage})
		must(t, err)
	}
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	must(t, err)
	return ctx
}

func describeException(ev runtime.EventExceptionThrown) string {
	d := ev.ExceptionDetails
	if d == nil {
		return "?"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

func location(t testing.TB, ctx context.Context) string {
	t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	return u
}

// clean fails the test for any Content-Security-Policy violation the page reported: the
// app must work under its own strict policy, not around it.
func clean(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) > 0 {
		t.Errorf("%s: Content-Security-Policy violations: %v", page, v)
	}
	// A value the app failed to render shows up as text like this.
	if bad := eval[string](t, ctx, `(document.body.innerText.match(/\[object \w+\]|\bundefined\b|\bNaN\b/) || [''])[0]`); bad != "" {
		t.Errorf("%s shows %q where a value should be", page, bad)
	}
}

// fitsThePhone checks a phone page: nothing wider than the screen (tables scroll inside
// their own box) and every control a finger uses at least 44 px tall.
func fitsThePhone(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > int(phone.width) {
		t.Errorf("%s on a phone: the page is %d px wide, wider than the %d px screen", page, w, phone.width)
	}
	small := eval[[]string](t, ctx, `[...document.querySelectorAll('a, button, input, select, textarea, summary')]
		.filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; })
		.filter((el) => { const r = el.getBoundingClientRect(); return r.height < 44 || (el.tagName === 'BUTTON' && r.width < 44); })
		.map((el) => el.tagName.toLowerCase() + ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '" ' + Math.round(el.getBoundingClientRect().width) + '×' + Math.round(el.getBoundingClientRect().height))`)
	if len(small) > 0 {
		t.Errorf("%s on a phone: touch targets under 44 px: %v", page, small)
	}
}

// shot writes a full-page screenshot when TIERFLOW_SCREENSHOTS names a folder.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("TIERFLOW_SCREENSHOTS")
	if dir == "" {
		return
	}
	// Let the charts finish drawing and the late parts (run, customer cards) arrive.
	must(t, chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)))
	// A phone shows what fits its screen; a desktop page is taken whole.
	capture := chromedp.FullScreenshot(100)
	if strings.HasSuffix(name, "-phone") {
		capture = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(ctx, capture)
	must(t, err)
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// paint is when a page's meaningful content was on screen, from the performance
// timeline of a full page load: the Element Timing render time of the element the page
// marks (the top-20 % figure, the first call of the list), the app's own mark set in the
// frame after the data is drawn, and first contentful paint for comparison.
type paint struct {
	Element float64 `json:"element"` // ms after navigation start; -1 when not reported
	Mark    float64 `json:"mark"`
	FCP     float64 `json:"fcp"`
	TTFB    float64 `json:"ttfb"`
}

func measure(t testing.TB, ctx context.Context, identifier, mark string) paint {
	t.Helper()
	js := fmt.Sprintf(`new Promise((resolve) => {
		const nav = performance.getEntriesByType('navigation')[0] || {};
		const fcp = (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || -1;
		const m = (performance.getEntriesByName(%q)[0] || {}).startTime || -1;
		let done = false;
		const finish = (el) => { if (!done) { done = true; resolve({ element: el, mark: m, fcp, ttfb: nav.responseStart || -1 }); } };
		new PerformanceObserver((list) => {
			const e = list.getEntries().find((x) => x.identifier === %q);
			if (e) finish(e.renderTime || e.loadTime);
		}).observe({ type: 'element', buffered: true });
		setTimeout(() => finish(-1), 1500);
	})`, mark, identifier)
	deadline := time.Now().Add(5 * time.Second)
	for eval[float64](t, ctx, fmt.Sprintf(`(performance.getEntriesByName(%q)[0] || {}).startTime || 0`, mark)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the page never set its %s mark", mark)
		}
		must(t, chromedp.Do(ctx, chromedp.Sleep(20*time.Millisecond))) // polling the page's own timeline
	}
	return eval[paint](t, ctx, js)
}

// figures collects the measurements for the test output and docs/webapp.md.
var figures []string

func record(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	figures = append(figures, line)
}

func writeFigures(t *testing.T) {
	root, err := emulators.FindRoot()
	if err != nil {
		t.Errorf("figures: %v", err)
		return
	}
	if len(figures) == 0 {
		return
	}
	out := "staff app, first meaningful paint (headless Chromium, local stack, demo data):\n  " + strings.Join(figures, "\n  ") + "\n  " + coverage() + "\n"
	// make test prints this file after the run: a figure that cannot be written is said.
	if err := os.MkdirAll(filepath.Join(root, ".build"), 0o755); err != nil {
		t.Errorf("figures: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(root, ".build", "webapp-figures.txt"), []byte(out), 0o644); err != nil {
		t.Errorf("figures: %v", err)
	}
}

func mustJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// The response headers policies of the template's distribution: every page
// answer carries SiteHeadersPolicy's headers, and the files under /embed/
// EmbedHeadersPolicy's (the same, plus CORS), as CloudFront sends them.
const (
	SiteHeadersPolicy  = "SiteHeadersPolicy"
	EmbedHeadersPolicy = "EmbedHeadersPolicy"
)

// LocalConfig is GET /config.json locally: the API on the pages' own origin,
// and the console signs in with a pasted token (.local/dpo-token).
const LocalConfig = `{"api":"","console":{"signIn":"token"}}`

// sitePrefixes are the folders of web/ that are served; anything else of the
// folder (tests, tools) is not.
var sitePrefixes = []string{"/privacy/", "/console/", "/shared/", "/embed/"}

// contentTypes are the types the pages are served with, by extension, as
// infra/publish-web.sh uploads them.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".json":        "application/json",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".woff2":       "font/woff2",
	".webmanifest": "application/manifest+json",
}

// site serves the static pages of web/ as the deployed distribution does:
// directories by their index.html, files with their type, and the security
// headers of the template's response headers policies.
type site struct {
	files   fs.FS
	headers http.Header // every page answer
	embed   http.Header // /embed/…, instead of headers
}

// serve answers req if its path is one of the pages' and reports whether it
// did; the API's routes answer the rest.
func (st *site) serve(w http.ResponseWriter, req *http.Request) bool {
	p := req.URL.Path
	isPage := p == "/" || p == "/config.json" || p == "/privacy" || p == "/console" ||
		slices.ContainsFunc(sitePrefixes, func(pre string) bool { return strings.HasPrefix(p, pre) })
	if !isPage {
		return false
	}
	h := st.headers
	if strings.HasPrefix(p, "/embed/") && st.embed != nil {
		h = st.embed
	}
	for k, vs := range h {
		w.Header()[k] = slices.Clone(vs)
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writePage(w, http.StatusMethodNotAllowed, "Method not allowed", "The pages are read with GET.")
		return true
	}
	switch p {
	case "/":
		http.Redirect(w, req, "/privacy/", http.StatusFound)
	case "/privacy", "/console":
		http.Redirect(w, req, p+"/", http.StatusFound)
	case "/config.json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, req, "", time.Time{}, strings.NewReader(LocalConfig+"\n"))
	default:
		st.file(w, req, p)
	}
	return true
}

// file serves the file of web/ at URL path p; a directory's is its
// index.html. There are no listings, and no name leaves the folder.
func (st *site) file(w http.ResponseWriter, req *http.Request, p string) {
	name := strings.TrimPrefix(p, "/")
	if strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	data, modTime, err := st.read(name)
	if err != nil {
		writePage(w, http.StatusNotFound, "Not found", "There is no page at this address.")
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache") // locally, edits show at once
	http.ServeContent(w, req, "", modTime, bytes.NewReader(data))
}

// errNotServed is a name the site does not serve.
var errNotServed = errors.New("not served")

// read returns the regular file name of the folder, if it is one the site
// serves: a valid path (no "..", no empty or "." element), no hidden
// element, and no test module (*.test.mjs, *.test.js).
func (st *site) read(name string) ([]byte, time.Time, error) {
	if !fs.ValidPath(name) || strings.Contains(name, `\`) || isTestModule(name) {
		return nil, time.Time{}, errNotServed
	}
	for _, el := range strings.Split(name, "/") {
		if strings.HasPrefix(el, ".") {
			return nil, time.Time{}, errNotServed
		}
	}
	f, err := st.files.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !info.Mode().IsRegular() {
		return nil, time.Time{}, errNotServed // a directory: no listings
	}
	data, err := io.ReadAll(f)
	return data, info.ModTime(), err
}

// isTestModule reports whether name is one of the pages' unit tests, which
// are not served (nor published: infra/publish-web.sh).
func isTestModule(name string) bool {
	return strings.HasSuffix(name, ".test.mjs") || strings.HasSuffix(name, ".test.js")
}

// writePage answers a small HTML page (no script, no style: the CSP holds).
func writePage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">"+
		"<title>%[1]s</title></head>\n<body><main><h1>%[1]s</h1><p>%[2]s</p><p><a href=\"/privacy/\">Privacy center</a></p></main></body></html>\n",
		html.EscapeString(title), html.EscapeString(text))
}

// policyHeaders returns the headers a CloudFront response headers policy
// (its resolved Properties) adds to an answer: the security headers, the
// custom headers and, for CorsConfig, Access-Control-Allow-Origin. secure
// says whether the answer goes over https: Strict-Transport-Security is not
// sent over plain http, where browsers ignore it. connect, when not empty,
// is added to the CSP's connect-src.
func policyHeaders(props map[string]any, secure bool, connect string) (http.Header, error) {
	cfg, ok := props["ResponseHeadersPolicyConfig"].(map[string]any)
	if !ok {
		return nil, errors.New("no ResponseHeadersPolicyConfig")
	}
	h := http.Header{}
	sec, _ := cfg["SecurityHeadersConfig"].(map[string]any)
	if csp, _ := dig(sec, "ContentSecurityPolicy", "ContentSecurityPolicy").(string); csp != "" {
		h.Set("Content-Security-Policy", withConnectSource(csp, connect))
	}
	if _, ok := sec["ContentTypeOptions"]; ok {
		h.Set("X-Content-Type-Options", "nosniff")
	}
	if v, _ := dig(sec, "FrameOptions", "FrameOption").(string); v != "" {
		h.Set("X-Frame-Options", v)
	}
	if v, _ := dig(sec, "ReferrerPolicy", "ReferrerPolicy").(string); v != "" {
		h.Set("Referrer-Policy", v)
	}
	if hsts, ok := sec["StrictTransportSecurity"].(map[string]any); ok && secure {
		h.Set("Strict-Transport-Security", strictTransport(hsts))
	}
	items, _ := dig(cfg, "CustomHeadersConfig", "Items").([]any)
	for _, it := range items {
		name, _ := dig(it, "Header").(string)
		value, _ := dig(it, "Value").(string)
		if name == "" {
			return nil, fmt.Errorf("custom header without a name: %v", it)
		}
		h.Set(name, value)
	}
	if cors, ok := cfg["CorsConfig"].(map[string]any); ok {
		origins := strs(dig(cors, "AccessControlAllowOrigins", "Items"))
		if !slices.Equal(origins, []string{"*"}) {
			return nil, fmt.Errorf("CorsConfig origins %v: the local stack serves only \"*\"", origins)
		}
		h.Set("Access-Control-Allow-Origin", "*")
	}
	return h, nil
}

// strictTransport formats a StrictTransportSecurity setting as its header.
func strictTransport(hsts map[string]any) string {
	v := fmt.Sprintf("max-age=%d", int(number(hsts["AccessControlMaxAgeSec"])))
	if b, _ := hsts["IncludeSubdomains"].(bool); b {
		v += "; includeSubDomains"
	}
	if b, _ := hsts["Preload"].(bool); b {
		v += "; preload"
	}
	return v
}

// withConnectSource adds source to the connect-src directive of csp.
func withConnectSource(csp, source string) string {
	if source == "" {
		return csp
	}
	dirs := strings.Split(csp, ";")
	for i, d := range dirs {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "connect-src" {
			dirs[i] = strings.TrimRight(d, " ") + " " + source
			return strings.Join(dirs, ";")
		}
	}
	return strings.TrimRight(csp, "; ") + "; connect-src " + source
}

// dig walks nested mappings by key.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// origin returns the origin (scheme://host[:port]) of a URL, "" if it has
// none.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// openSite opens Options.WebDir for serving; nil without one.
func (s *Stack) openSite() (*site, error) {
	if s.opts.WebDir == "" {
		return nil, nil
	}
	root, err := os.OpenRoot(s.opts.WebDir)
	if err != nil {
		return nil, fmt.Errorf("devstack: the pages' folder: %w", err)
	}
	emulator := ""
	if ep := s.opts.AWS.BaseEndpoint; ep != nil {
		emulator = origin(*ep)
	}
	st, err := s.newSite(root.FS(), emulator)
	if err != nil {
		root.Close()
		return nil, err
	}
	s.webRoot = root
	return st, nil
}

// newSite builds the site of folder files with the headers policies of the
// template: every answer's connect-src also allows the emulator (emulator,
// an origin), where the local presigned report links point.
func (s *Stack) newSite(files fs.FS, emulator string) (*site, error) {
	st := &site{files: files}
	for _, p := range []struct {
		id       string
		dst      *http.Header
		required bool
	}{{SiteHeadersPolicy, &st.headers, true}, {EmbedHeadersPolicy, &st.embed, false}} {
		props, err := s.resourceProperties(p.id, "AWS::CloudFront::ResponseHeadersPolicy")
		if err != nil {
			return nil, err
		}
		if props == nil {
			if p.required {
				return nil, fmt.Errorf("devstack: the template has no response headers policy %s for the pages", p.id)
			}
			continue
		}
		if *p.dst, err = policyHeaders(props, false, emulator); err != nil {
			return nil, fmt.Errorf("devstack: %s: %w", p.id, err)
		}
	}
	return st, nil
}

// resourceProperties returns the resolved Properties of resource id of type
// typ; nil if the template has no such resource or its condition is false.
func (s *Stack) resourceProperties(id, typ string) (map[string]any, error) {
	res, ok := s.template.Resources[id]
	if !ok || res.Type != typ || res.Properties == nil {
		return nil, nil
	}
	r := &samtemplate.Resolver{Template: s.template, Names: s.Names, Pseudo: s.pseudo}
	if on, err := r.ResourceEnabled(id); err != nil || !on {
		return nil, err
	}
	v, err := r.Resolve(res.Properties)
	if err != nil {
		return nil, fmt.Errorf("devstack: %s: %w", id, err)
	}
	m, _ := v.(map[string]any)
	return m, nil
}

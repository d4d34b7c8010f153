//go:build integration

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/devstack/seed"
)

// privacyRights: each of the other rights has its section of the form, with
// the registry's choices (the attributes that can be corrected, the channels
// of consent); a section's own checks refuse what is incomplete before
// anything is sent; and grace restricts customer care from the form to the
// certificate.
func (b *browserRun) privacyRights(t *testing.T) {
	tb := b.newTab(t, "privacy-rights-en-desktop", "en", viewports[0])
	tb.navigate("/privacy/")
	tb.waitVisible("#request-form", 20*time.Second)
	tb.setLanguage("en")
	for _, c := range []struct{ typ, ready string }{
		{"rectification", `#attribute option[value="name"]`},
		{"restriction", `#restrict-customer_care`},
		{"portability", `#format-json`},
		{"preferences", `#withdraw-marketing-email`},
	} {
		tb.choose(`input[name="type"][value="` + c.typ + `"]`)
		tb.waitJS(c.ready+" in the "+c.typ+" section", `!!document.querySelector(`+jsq(c.ready)+`) && !document.querySelector('#`+c.typ+`-section').hidden`, 20*time.Second)
		tb.checkPage("7-" + c.typ)
	}

	tb.choose(`input[name="type"][value="rectification"]`)
	tb.typeInto("#email", seed.Ada)
	tb.click("#submit")
	tb.waitVisible(`#errors li[data-field="attribute"]`, 15*time.Second)
	if got := tb.attr("#attribute", "aria-invalid"); got != "true" {
		t.Errorf(`#attribute aria-invalid = %q without a choice, want "true"`, got)
	}
	if n := len(tb.sent("POST", "/v1/requests")); n != 0 {
		t.Errorf("an incomplete rectification was sent (%d POST /v1/requests): it must be refused before sending", n)
	}

	tb.choose(`input[name="type"][value="restriction"]`)
	tb.choose("#ground-accuracy_contested")
	tb.choose("#restrict-customer_care")
	tb.typeInto("#email", seed.Grace)
	tb.click("#submit")
	tb.waitVisible("#code-form", 20*time.Second)
	checkRestrictionBody(t, tb)
	req := tb.stored()
	tb.typeInto("#code", readCode(t, b.stack, req.ID))
	tb.click("#verify")
	tb.waitJS(`#status-value[data-status="completed"]`, `document.querySelector('#status-value')?.dataset.status === 'completed'`, 60*time.Second)
	tb.checkPage("8-restriction-completed")
	cert, _ := tb.download("#download-certificate")
	if !strings.Contains(string(cert), `"restriction"`) || !strings.Contains(string(cert), "customer_care") {
		t.Errorf("the downloaded certificate is not grace's restriction of customer care (%d bytes)", len(cert))
	}

	tb.click("#new-request")
	tb.choose(`input[name="type"][value="portability"]`)
	tb.typeInto("#email", seed.Ada)
	tb.click("#submit")
	tb.waitVisible("#code-form", 20*time.Second)
	tb.typeInto("#code", readCode(t, b.stack, tb.stored().ID))
	tb.click("#verify")
	tb.waitVisible("#download-export-csv", 60*time.Second)
	tb.checkPage("9-portability-completed")
	export, _ := tb.download("#download-export-json")
	if !strings.Contains(string(export), `"$schema"`) || !strings.Contains(string(export), "newsletter") || strings.Contains(string(export), "segment") {
		t.Errorf("the downloaded export is not ada's portability export without the segment (%d bytes)", len(export))
	}
}

// checkRestrictionBody checks the one POST /v1/requests the form sent for
// grace's restriction.
func checkRestrictionBody(t *testing.T, tb *tab) {
	t.Helper()
	posts := tb.sent("POST", "/v1/requests")
	if len(posts) != 1 {
		t.Fatalf("the form sent %d POST /v1/requests, want 1", len(posts))
	}
	var body struct {
		Type     string   `json:"type"`
		Ground   string   `json:"ground"`
		Purposes []string `json:"purposes"`
	}
	if err := json.Unmarshal([]byte(postData(posts[0])), &body); err != nil {
		t.Fatalf("POST /v1/requests body: %v", err)
	}
	if body.Type != "restriction" || body.Ground != "accuracy_contested" || len(body.Purposes) != 1 || body.Purposes[0] != "customer_care" {
		t.Errorf("POST /v1/requests sent %+v, want a restriction of customer_care, accuracy contested", body)
	}
}

// consoleRectification: grace asks (through the API) that her name be
// corrected; the DPO sees what is asked in the console, confirms it there
// (asked first), and the request goes on to its answer.
func (b *browserRun) consoleRectification(t *testing.T) {
	c := &client{t: t, base: b.stack.URL}
	var sub submitted
	body := map[string]any{"type": "rectification", "email": seed.Grace, "attribute": "name", "corrected": "Grace B. Hopper"}
	if st, _, raw := c.do("POST", "/v1/requests", "", body, &sub); st != 202 {
		t.Fatalf("submit the rectification: %d %s", st, raw)
	}
	if st, _, raw := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": readCode(t, b.stack, sub.ID)}, nil); st != 200 {
		t.Fatalf("verify the rectification: %d %s", st, raw)
	}
	decision := func() string {
		var v struct {
			Status        string `json:"status"`
			Rectification *struct {
				Decision string `json:"decision"`
			} `json:"rectification"`
		}
		if st, raw := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID, b.dpoToken, nil, &v); st != 200 || v.Rectification == nil {
			t.Fatalf("GET the rectification's detail: %d %s", st, raw)
		}
		return v.Status + "/" + v.Rectification.Decision
	}
	waitFor(t, "the rectification to wait for the DPO", 60*time.Second, func() bool { return decision() == "in_progress/pending" })

	tb := b.newTab(t, "console-rectification", "en", viewports[0])
	tb.signIn("en")
	tb.waitJS("the rectification's row", `!!document.querySelector(`+jsq(`#requests tr[data-id="`+sub.ID+`"]`)+`)`, 20*time.Second)
	tb.click(`#requests tr[data-id="` + sub.ID + `"] button.open`)
	tb.waitVisible("#rectify-form", 20*time.Second)
	if asked := tb.text("#rectify-asked"); !strings.Contains(asked, "Grace B. Hopper") || !strings.Contains(asked, "name") {
		t.Errorf("#rectify-asked = %q, want the attribute and the corrected value", asked)
	}
	tb.checkPage("rectify")
	tb.selectOption("#rectify-outcome", "confirmed")
	tb.click("#rectify")
	tb.waitJS("the confirmation dialog#confirm to be open", `document.querySelector('dialog#confirm')?.open === true`, 10*time.Second)
	tb.click("#confirm-yes")
	waitFor(t, "the confirmed rectification", 30*time.Second, func() bool { return strings.HasSuffix(decision(), "/confirmed") })
	if errs := tb.text("#console-errors"); errs != "" {
		t.Errorf("#console-errors after the decision: %q", errs)
	}
}

package httpapi

import "github.com/privacyops/dsr/internal/dsr"

// ReportPath is the public path of request id's report link (the subject
// API's GET /v1/requests/{id}/report, docs/api.md).
func ReportPath(id string) string { return "/v1/requests/" + id + "/report" }

// CertificatePath is the public path of request id's certificate link (GET
// /v1/requests/{id}/certificate).
func CertificatePath(id string) string { return "/v1/requests/" + id + "/certificate" }

// Linked is v with the link to its result's answer (ViewResult.Answer): the
// path of its report or of its certificate. Every view the API shows is
// linked, the DPO's too.
func Linked(v dsr.View) dsr.View {
	if v.Result == nil {
		return v
	}
	res := *v.Result
	switch res.Answer {
	case dsr.DocReportJSON:
		res.Report = ReportPath(v.ID)
	case dsr.DocCertificate:
		res.Certificate = CertificatePath(v.ID)
	case dsr.DocExportJSON:
		res.Report = ReportPath(v.ID) + "?format=json"
	case dsr.DocExportZip:
		res.Report = ReportPath(v.ID) + "?format=csv"
	}
	v.Result = &res
	return v
}

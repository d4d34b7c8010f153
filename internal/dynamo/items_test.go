package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// legacyResult and legacyRecipient are dsr.Result and dsr.Recipient as they
// were stored before the domain lost its attribute tags: the encoder
// marshalled the domain's types directly. The converters must store the
// same attributes.
type legacyResult struct {
	ReportJSONKey  string            `dynamodbav:"reportJsonKey,omitempty"`
	ReportHTMLKey  string            `dynamodbav:"reportHtmlKey,omitempty"`
	CertificateKey string            `dynamodbav:"certificateKey,omitempty"`
	Recipients     []legacyRecipient `dynamodbav:"recipients,omitempty"`
}

type legacyRecipient struct {
	Recipient string    `dynamodbav:"recipient"`
	Country   string    `dynamodbav:"country"`
	Safeguard string    `dynamodbav:"safeguard"`
	At        time.Time `dynamodbav:"at"`
	Purposes  []string  `dynamodbav:"purposes,omitempty"`
}

var avOpts = cmpopts.IgnoreUnexported(types.AttributeValueMemberS{}, types.AttributeValueMemberN{},
	types.AttributeValueMemberL{}, types.AttributeValueMemberM{})

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func marshalMap(t *testing.T, v any) map[string]types.AttributeValue {
	t.Helper()
	av, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return av
}

func TestResultItemIsStoredAsBefore(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123_000_000, time.UTC)
	for name, tc := range map[string]struct {
		result dsr.Result
		legacy legacyResult
		want   map[string]types.AttributeValue
	}{
		"access": {
			result: dsr.Result{ReportJSONKey: "01J/report.json", ReportHTMLKey: "01J/report.html"},
			legacy: legacyResult{ReportJSONKey: "01J/report.json", ReportHTMLKey: "01J/report.html"},
			want:   map[string]types.AttributeValue{"reportJsonKey": sv("01J/report.json"), "reportHtmlKey": sv("01J/report.html")},
		},
		"erasure with recipients": {
			result: dsr.Result{CertificateKey: "01J/certificate.json", Recipients: []dsr.Recipient{
				{Recipient: "Example Print GmbH", Country: "DE", At: at, Purposes: []string{"billing", "marketing"}},
				{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC (EU) 2021/914", At: at.Add(time.Hour)},
			}},
			legacy: legacyResult{CertificateKey: "01J/certificate.json", Recipients: []legacyRecipient{
				{Recipient: "Example Print GmbH", Country: "DE", At: at, Purposes: []string{"billing", "marketing"}},
				{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC (EU) 2021/914", At: at.Add(time.Hour)},
			}},
			want: map[string]types.AttributeValue{
				"certificateKey": sv("01J/certificate.json"),
				"recipients": &types.AttributeValueMemberL{Value: []types.AttributeValue{
					&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
						"recipient": sv("Example Print GmbH"), "country": sv("DE"), "safeguard": sv(""), "at": sv("2026-03-01T08:30:00.123Z"),
						"purposes": &types.AttributeValueMemberL{Value: []types.AttributeValue{sv("billing"), sv("marketing")}},
					}},
					&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
						"recipient": sv("Mailer Inc."), "country": sv("US"), "safeguard": sv("SCC (EU) 2021/914"), "at": sv("2026-03-01T09:30:00.123Z"),
					}},
				}},
			},
		},
		"erasure without recipients": {
			result: dsr.Result{CertificateKey: "c.json", Recipients: []dsr.Recipient{}},
			legacy: legacyResult{CertificateKey: "c.json", Recipients: []legacyRecipient{}},
			// An empty list is stored, as an empty list.
			want: map[string]types.AttributeValue{"certificateKey": sv("c.json"), "recipients": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := marshalMap(t, toResultItem(&tc.result))
			if diff := cmp.Diff(tc.want, got, avOpts); diff != "" {
				t.Errorf("stored result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(marshalMap(t, tc.legacy), got, avOpts); diff != "" {
				t.Errorf("stored result against the old encoding (-old +new):\n%s", diff)
			}
			// Read back, from what the old encoding stored.
			var it resultItem
			if err := attributevalue.UnmarshalMap(marshalMap(t, tc.legacy), &it); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.result, fromResultItem(&it)); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}
	if toResultItem(nil) != nil || fromResultItem(nil) != nil {
		t.Error("no result must stay no result")
	}
}

func TestRequestItemKeepsItsResultAndExtensions(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	res := dsr.Result{CertificateKey: "c.json", Recipients: []dsr.Recipient{{Recipient: "R", Country: "FR", At: at}}}
	r := &dsr.Request{ID: "01J", Type: dsr.TypeErasure, Status: dsr.StatusCompleted, ReceivedAt: at, UpdatedAt: at, Result: &res}
	item := marshalMap(t, toItem(r))
	legacy := marshalMap(t, legacyResult{CertificateKey: "c.json", Recipients: []legacyRecipient{{Recipient: "R", Country: "FR", At: at}}})
	if diff := cmp.Diff(&types.AttributeValueMemberM{Value: legacy}, item["result"], avOpts); diff != "" {
		t.Errorf("the item's result (-old +new):\n%s", diff)
	}
	if _, ok := item["extensions"]; ok {
		t.Error("a new request stores no extensions")
	}

	ext := dsr.Extension{Months: 2, Reason: "1,200 records", By: "dpo-1", At: at, DueAt: at.AddDate(0, 3, 0)}
	got := marshalMap(t, toExtensionItem(ext))
	want := map[string]types.AttributeValue{
		"months": &types.AttributeValueMemberN{Value: "2"}, "reason": sv("1,200 records"), "by": sv("dpo-1"),
		"at": sv("2026-03-01T08:30:00.000Z"), "dueAt": sv("2026-06-01T08:30:00.000Z"),
	}
	if diff := cmp.Diff(want, got, avOpts); diff != "" {
		t.Errorf("stored extension (-want +got):\n%s", diff)
	}
	item["extensions"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: got}}}
	back, err := unmarshalRequest(item)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]dsr.Extension{ext}, back.Extensions); diff != "" {
		t.Errorf("extensions read back (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&res, back.Result); diff != "" {
		t.Errorf("result read back (-want +got):\n%s", diff)
	}
}

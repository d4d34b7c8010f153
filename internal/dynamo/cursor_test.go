package dynamo_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dynamo"
)

func TestCursorRoundTrip(t *testing.T) {
	k := map[string]types.AttributeValue{
		"contactId": &types.AttributeValueMemberS{Value: "marketing-00001"},
		"email":     &types.AttributeValueMemberS{Value: "ada@example.com"},
		"n":         &types.AttributeValueMemberN{Value: "42"},
		"b":         &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
	}
	c, err := dynamo.EncodeCursor(k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dynamo.DecodeCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, got, cmpopts.IgnoreUnexported(types.AttributeValueMemberS{}, types.AttributeValueMemberN{}, types.AttributeValueMemberB{})); diff != "" {
		t.Error(diff)
	}
	if _, err := dynamo.EncodeCursor(map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{}}); err == nil {
		t.Error("a list key attribute was encoded")
	}
	for _, bad := range []string{"", "!!", "e30", "eyJhIjp7fX0", "eyJhIjp7IlMiOiJ4IiwiTiI6IjEifX0"} {
		if _, err := dynamo.DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add("eyJlbWFpbCI6eyJTIjoiYWRhQGV4YW1wbGUuY29tIn19")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := dynamo.DecodeCursor(s)
		if err != nil {
			return
		}
		again, err := dynamo.EncodeCursor(k)
		if err != nil {
			t.Fatalf("decoded cursor does not encode: %v", err)
		}
		if _, err := dynamo.DecodeCursor(again); err != nil {
			t.Fatalf("re-encoded cursor does not decode: %v", err)
		}
	})
}

func TestAttributesAsStored(t *testing.T) {
	item := map[string]types.AttributeValue{
		"big":   &types.AttributeValueMemberN{Value: "12345678901234567890"},
		"epoch": &types.AttributeValueMemberN{Value: "1700000000"},
		"frac":  &types.AttributeValueMemberN{Value: "0.1"},
		"b":     &types.AttributeValueMemberB{Value: []byte("ab")},
		"ok":    &types.AttributeValueMemberBOOL{Value: true},
		"none":  &types.AttributeValueMemberNULL{Value: true},
		"tags":  &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"ns":    &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"m":     &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "7"}}},
		"l":     &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "s"}}},
	}
	got, err := json.Marshal(dynamo.FromAttributeValues(item))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":"YWI=","big":12345678901234567890,"epoch":1700000000,"frac":0.1,"l":["s"],"m":{"n":7},"none":null,"ns":[1,2.5],"ok":true,"tags":["x","y"]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

package provision

import "testing"

func TestWithoutTransportDeny(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, ""},
		{`{"Statement":[{"Effect":"Deny","Condition":{"Bool":{"aws:SecureTransport":false}}},{"Effect":"Allow","Action":"s3:GetObject"}]}`,
			`{"Statement":[{"Action":"s3:GetObject","Effect":"Allow"}]}`},
		{`{"Statement":[{"Effect":"Deny","Condition":{"Bool":{"aws:SecureTransport":"false","aws:MultiFactorAuthPresent":"false"}}}]}`,
			`{"Statement":[{"Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false","aws:SecureTransport":"false"}},"Effect":"Deny"}]}`},
	}
	for _, tc := range tests {
		got, err := withoutTransportDeny(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("withoutTransportDeny(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := withoutTransportDeny("{"); err == nil {
		t.Error("bad JSON accepted")
	}
}

package provision

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// defaultPasswordLength is Secrets Manager's default PasswordLength.
const defaultPasswordLength = 32

// secretProps are the supported properties of an AWS::SecretsManager::Secret.
type secretProps struct {
	Description          string
	SecretString         *string
	GenerateSecretString *generateSecretString
	Tags                 json.RawMessage // no local effect
	// KmsKeyId has no local effect: KMS keys are deployed-only, so the key
	// never exists locally, and the emulator's default key is used.
	KmsKeyId string
}

// generateSecretString is a GenerateSecretString property. Generated values
// are alphanumeric: punctuation is never used, which every setting of
// ExcludePunctuation allows, and IncludeSpace is ignored.
type generateSecretString struct {
	PasswordLength          *cfnInt
	ExcludeCharacters       string
	ExcludeLowercase        cfnBool
	ExcludeUppercase        cfnBool
	ExcludeNumbers          cfnBool
	ExcludePunctuation      cfnBool
	IncludeSpace            cfnBool
	RequireEachIncludedType *cfnBool
	SecretStringTemplate    string
	GenerateStringKey       string
}

// generate returns a new random secret value: a password of PasswordLength
// characters from the classes not excluded, each class present if required
// and the length allows, then placed in SecretStringTemplate if one is set.
func (g *generateSecretString) generate() (string, error) {
	length := defaultPasswordLength
	if g.PasswordLength != nil {
		length = int(*g.PasswordLength)
	}
	if length < 1 || length > 4096 {
		return "", fmt.Errorf("PasswordLength %d is out of range", length)
	}
	classes := g.classes()
	if len(classes) == 0 {
		return "", errors.New("GenerateSecretString excludes every alphanumeric character")
	}
	requireEach := g.RequireEachIncludedType == nil || bool(*g.RequireEachIncludedType)
	password, err := randomString(strings.Join(classes, ""), length, classes, requireEach && length >= len(classes))
	if err != nil {
		return "", err
	}
	return g.wrap(password)
}

// classes are the character classes a generated password draws from:
// lower case, upper case and digits, less the excluded classes and
// ExcludeCharacters; a class left empty is dropped.
func (g *generateSecretString) classes() []string {
	var classes []string
	for _, c := range []struct {
		chars    string
		excluded cfnBool
	}{
		{"abcdefghijklmnopqrstuvwxyz", g.ExcludeLowercase},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", g.ExcludeUppercase},
		{"0123456789", g.ExcludeNumbers},
	} {
		if c.excluded {
			continue
		}
		chars := strings.Map(func(r rune) rune {
			if strings.ContainsRune(g.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, c.chars)
		if chars != "" {
			classes = append(classes, chars)
		}
	}
	return classes
}

// wrap returns the secret value of password: password itself, or, with
// SecretStringTemplate and GenerateStringKey (both or neither), the
// template's JSON object with password at that key.
func (g *generateSecretString) wrap(password string) (string, error) {
	if g.SecretStringTemplate == "" && g.GenerateStringKey == "" {
		return password, nil
	}
	if g.SecretStringTemplate == "" || g.GenerateStringKey == "" {
		return "", errors.New("SecretStringTemplate and GenerateStringKey go together")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(g.SecretStringTemplate), &doc); err != nil {
		return "", fmt.Errorf("SecretStringTemplate: %w", err)
	}
	doc[g.GenerateStringKey] = password
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("SecretStringTemplate: %w", err)
	}
	return string(out), nil
}

// randomString returns length characters drawn uniformly from alphabet with
// crypto/rand; with requireEach, it draws again until every class occurs.
func randomString(alphabet string, length int, classes []string, requireEach bool) (string, error) {
	size := big.NewInt(int64(len(alphabet)))
	buf := make([]byte, length)
	for {
		for i := range buf {
			n, err := rand.Int(rand.Reader, size)
			if err != nil {
				return "", fmt.Errorf("generate secret: %w", err)
			}
			buf[i] = alphabet[n.Int64()]
		}
		s := string(buf)
		if !requireEach || containsEach(s, classes) {
			return s, nil
		}
	}
}

func containsEach(s string, classes []string) bool {
	for _, c := range classes {
		if !strings.ContainsAny(s, c) {
			return false
		}
	}
	return true
}

// secretValue returns the value a new secret gets.
func secretValue(p secretProps) (string, error) {
	switch {
	case p.SecretString != nil && p.GenerateSecretString != nil:
		return "", errors.New("SecretString and GenerateSecretString exclude each other")
	case p.SecretString != nil:
		return *p.SecretString, nil
	case p.GenerateSecretString != nil:
		return p.GenerateSecretString.generate()
	}
	return (&generateSecretString{}).generate()
}

// secret creates an AWS::SecretsManager::Secret; an existing secret keeps
// its value.
func (pr *provisioner) secret(ctx context.Context, id string, props *yaml.Node) error {
	var p secretProps
	if err := pr.decode(props, &p); err != nil {
		return err
	}
	value, err := secretValue(p)
	if err != nil {
		return err
	}
	name := pr.physicalName(id)
	c := secretsmanager.NewFromConfig(pr.cfg)
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
	if p.Description != "" {
		in.Description = aws.String(p.Description)
	}
	var arn string
	out, err := c.CreateSecret(ctx, in)
	if err == nil {
		arn = aws.ToString(out.ARN)
	} else {
		var exists *types.ResourceExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("create secret %s: %w", name, err)
		}
		got, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe secret %s: %w", name, err)
		}
		arn = aws.ToString(got.ARN)
	}
	if arn == "" {
		return fmt.Errorf("create secret %s: no ARN returned", name)
	}
	pr.names[id] = samtemplate.Physical{Ref: arn, Attrs: map[string]string{"Id": arn}}
	return nil
}

// Package templatecheck holds the tests that read template.yaml as it deploys:
// translated by the SAM translator (translate.py) into the CloudFormation
// template CloudFormation runs, and checked for what a production deploy needs
// (docs/deploy.md): explicit roles with no "*" resource beyond the commented
// exceptions, one log group per function with a retention, access logs that
// cannot carry personal data, an alarm on every dead-letter queue and every
// function, concurrency caps, the optional customer-managed key, deletion
// protection, and a deploy guide whose parameter table is the template's.
//
// It has no code that runs in Lambda or in the local stack.
package templatecheck

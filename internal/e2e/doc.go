// Package e2e holds the end-to-end tests: they start the local stack
// in-process against the emulator (AWS_ENDPOINT_URL) and drive it through the
// public API exactly as docs/api.md describes, and run the built Lambda bootstraps
// under the Runtime Interface Emulator. Build tag: integration.
package e2e

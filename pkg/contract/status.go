package contract

import "time"

// PipelockStatus is what pipelock's control socket reports, and what
// `claude-bottle-sidecar pipelock status` prints as JSON: which
// configuration serves. The host CLI compares ConfigSHA256 with the
// SHA-256 of the file it wrote to know that a reload took effect (or
// LastErrorSHA256 to know it failed). It lives here, in the host↔bottle
// contract, so the host reads it without linking pipelock.
type PipelockStatus struct {
	Generation   uint64    `json:"generation"`
	ConfigSHA256 string    `json:"config_sha256"`
	LoadedAt     time.Time `json:"loaded_at"`
	Allowlist    int       `json:"allowlist"`
	// LastError is the reason the latest reload was refused (the previous
	// configuration kept serving); empty after a successful one.
	LastError       string `json:"last_error,omitempty"`
	LastErrorSHA256 string `json:"last_error_sha256,omitempty"`
}

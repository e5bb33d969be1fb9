package daemoncfg

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// GitGate is git-gate's repos.yaml: the repos the gate serves and where each
// one forwards to. Identities and known_hosts are files beside it in the
// gate's mounted directory.
type GitGate struct {
	Repos []Repo `yaml:"repos"`
	// KnownSecrets are values to find in pushes in any encoding (the
	// bottle's credentials, planted canaries), by fingerprint only.
	KnownSecrets []secretfp.Fingerprint `yaml:"known_secrets,omitempty"`
}

// Repo is one served repo.
type Repo struct {
	Name           string `yaml:"name"`
	URL            string `yaml:"url"`
	Identity       string `yaml:"identity"` // file name inside the git-gate directory
	AllowForcePush bool   `yaml:"allow_force_push"`
	AllowDelete    bool   `yaml:"allow_delete"`
	// MaxObjectMiB bounds one object of a push (inflated), MaxPushMiB all
	// of a push's new objects together and the pack as sent; 0 means
	// git-gate's default.
	MaxObjectMiB int `yaml:"max_object_mib,omitempty"`
	MaxPushMiB   int `yaml:"max_push_mib,omitempty"`
}

// MaxLimitMiB is the largest size limit a repo may set (64 GiB): the limits
// are there to bound the gate, not to be switched off.
const MaxLimitMiB = 64 << 10

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Marshal encodes f as YAML.
func (f GitGate) Marshal() ([]byte, error) {
	if f.Repos == nil {
		f.Repos = []Repo{}
	}
	return encode("", "repos", f)
}

// ParseGitGate decodes repos.yaml strictly and validates it.
func ParseGitGate(data []byte) (GitGate, error) {
	var f GitGate
	if err := decodeStrict(data, "repos", &f); err != nil {
		return GitGate{}, err
	}
	if err := f.Validate(); err != nil {
		return GitGate{}, err
	}
	return f, nil
}

// Validate reports every problem of f at once.
func (f GitGate) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range f.Repos {
		if !nameRE.MatchString(r.Name) || seen[r.Name] {
			errs = append(errs, fmt.Errorf("repos[%d]: name %q is invalid or repeated", i, r.Name))
		}
		seen[r.Name] = true
		if r.MaxObjectMiB < 0 || r.MaxPushMiB < 0 || r.MaxObjectMiB > MaxLimitMiB || r.MaxPushMiB > MaxLimitMiB {
			errs = append(errs, fmt.Errorf("repos[%d] (%s): max_object_mib and max_push_mib must be between 0 (default) and %d", i, r.Name, MaxLimitMiB))
		}
		switch {
		case r.Local():
			// A local upstream needs no identity (one given is not used).
		case r.URL == "" || r.Identity == "" || !nameRE.MatchString(r.Identity):
			errs = append(errs, fmt.Errorf("repos[%d] (%s): want url and identity (a file name in the gate's directory)", i, r.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid repos: %w", err)
	}
	return nil
}

// Local reports whether the repo's upstream is a path inside the gate's
// container (the workspace mirror of `claude-bottle run`) rather than an SSH
// URL: the gate fetches from and pushes to it with git's local transport,
// with no identity and no host key.
func (r Repo) Local() bool { return strings.HasPrefix(r.URL, "/") }

package gitgatecfg

import "strings"

// Local reports whether the repo's upstream is a path inside the gate's
// container (the workspace mirror of `claude-bottle run`) rather than an SSH
// URL: the gate fetches from and pushes to it with git's local transport,
// with no identity and no host key.
func (r Repo) Local() bool { return strings.HasPrefix(r.URL, "/") }

package dlp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"

	"gotest.tools/v3/assert"
)

func TestKeywordSet(t *testing.T) {
	k := newKeywordSet([]string{"AKIA", "sk-ant-api03", "token", "ghp_", "xo"})
	for text, want := range map[string]bool{
		"AKIAQ7R2XNPLW3JKD5VT":     true,
		"the ToKeN is":             true,
		"prefix sk-ANT-api03-abc":  true,
		"ghp":                      false,
		"ordinary code, no secret": false,
		"":                         false,
		"x":                        false,
		"XO":                       true,
	} {
		assert.Equal(t, k.any(text), want, text)
	}
}

// The table agrees with a naive search on every keyword of the default
// rules, at every position and in any case.
func TestKeywordSetMatchesNaive(t *testing.T) {
	gl, err := sharedDetector()
	assert.NilError(t, err)
	var kws []string
	for kw := range gl.d.Config.Keywords {
		kws = append(kws, strings.ToLower(kw))
	}
	k := newKeywordSet(kws)
	for _, kw := range kws {
		for _, text := range []string{kw, "xx" + strings.ToUpper(kw), "a b " + kw + " c"} {
			assert.Assert(t, k.any(text), "%q in %q", kw, text)
		}
	}
	naive := func(s string) bool {
		s = strings.ToLower(s)
		for _, kw := range kws {
			if strings.Contains(s, kw) {
				return true
			}
		}
		return false
	}
	for _, text := range []string{string(codeBody(4096)), "GET /index.html", "Mozilla/5.0 (X11; Linux x86_64)", "application/json", "per_page=100&page=2"} {
		assert.Equal(t, k.any(text), naive(text), text)
	}
}

// Stop words exempt nothing: a generic-api-key candidate is found with or
// without one of gitleaks' stop words in it (a sender could otherwise append
// one to any secret; see removeExemptions).
func TestStopwordsNoLongerExempt(t *testing.T) {
	var vc config.ViperConfig
	_, err := toml.Decode(config.DefaultConfig, &vc)
	assert.NilError(t, err)
	var stop string
	for _, a := range vc.Rules {
		if a.ID != "generic-api-key" {
			continue
		}
		for _, al := range a.Allowlists {
			for _, w := range al.StopWords {
				if len(w) >= 6 && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") == "" {
					stop = w
					break
				}
			}
		}
	}
	assert.Assert(t, stop != "", "the generic rule has stop words")
	// gitleaks' view alone: with our rules on, its generic-api-key is
	// replaced by them.
	s := scanner(t, Options{NoEntropy: true, NoBuiltin: true})
	found := func(secret string) bool {
		for _, f := range s.Scan("body", `api_key = "`+secret+`"`) {
			if f.Rule == "generic-api-key" {
				return true
			}
		}
		return false
	}
	assert.Assert(t, found("Zk8qXv9Lm2Tq7Rw4Pn6Yb3"), "control: the candidate is found")
	assert.Assert(t, found("Zk8q"+stop+"Xv9Lm2Tq7Rw4Pn6Yb3"), "stop word %q exempted the candidate", stop)
}

// The default rules decoded straight from gitleaks' TOML are exactly what
// gitleaks' own viper-based loader produces.
func TestDefaultRulesDecodeLikeViper(t *testing.T) {
	var direct config.ViperConfig
	_, err := toml.Decode(config.DefaultConfig, &direct)
	assert.NilError(t, err)
	v := viper.New()
	v.SetConfigType("toml")
	assert.NilError(t, v.ReadConfig(strings.NewReader(config.DefaultConfig)))
	var viaViper config.ViperConfig
	assert.NilError(t, v.Unmarshal(&viaViper))
	assert.Assert(t, len(direct.Rules) > 200)
	assert.Assert(t, reflect.DeepEqual(direct, viaViper), "the two decodings of the default rules differ")
}

// TestSecretNameCores: every secret name holds one of the cores the
// field rule's cheap reject looks for.
func TestSecretNameCores(t *testing.T) {
	for _, n := range secretNames {
		if !secretNameCores().any(n) || !secretNameCores().any(strings.ToUpper(n)) {
			t.Errorf("secret name %q holds no core", n)
		}
	}
}

package lifecycle

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestKnownBugs(t *testing.T) {
	for v, affected := range map[string]bool{
		"20.10.24+dfsg1": true, "20.10.24": true, "23.0.10": true, "23.0.11": false, "23.1.0": false,
		"24.0.9": true, "25.0.4": true, "25.0.5": false, "25.1.0": false, "26.0.0": false, "28.5.2": false,
		"v26.1.4": false, "27.3.1-ce": false, "19.03.15": true,
		"": true, "garbage": true, "26": true, "x.y.z": true, "26-rc.1.0": true,
	} {
		got := KnownBugs(v)
		assert.Equal(t, len(got) == 1, affected, "version %q", v)
		if affected {
			assert.Equal(t, got[0].ID, "CVE-2024-29018")
		}
	}
}

func TestDNSMitigated(t *testing.T) {
	assert.Assert(t, DNSMitigated([]string{"192.0.2.53"}))
	for _, dns := range [][]string{nil, {}, {"127.0.0.53"}, {"192.0.2.53", "127.0.0.1"}, {"::1"}, {"0.0.0.0"}, {"resolver.example"}} {
		assert.Assert(t, !DNSMitigated(dns), "%v", dns)
	}
}

func TestAllowedBug(t *testing.T) {
	assert.Assert(t, allowedBug("CVE-2024-29018", CVE202429018))
	assert.Assert(t, allowedBug(" cve-2024-29018 ,other", CVE202429018))
	assert.Assert(t, allowedBug("all", CVE202429018))
	for _, v := range []string{"", "1", "true", "yes", "CVE-2024-2901", "CVE-2024-290180"} {
		assert.Assert(t, !allowedBug(v, CVE202429018), v)
	}
}

func TestEngineVerdict(t *testing.T) {
	// Affected engine, mitigated bottle: proceeds, says so.
	notes, err := EngineVerdict("20.10.24+dfsg1", []string{"192.0.2.53"}, "")
	assert.NilError(t, err)
	assert.Assert(t, len(notes) == 1 && strings.Contains(notes[0], "CVE-2024-29018: mitigated"), "%v", notes)
	// Affected engine, unmitigated bottle (loopback or no resolver): refused.
	for _, dns := range [][]string{nil, {"127.0.0.53"}} {
		_, err = EngineVerdict("25.0.3", dns, "")
		assert.ErrorContains(t, err, "engine 25.0.3 has a known isolation bug, CVE-2024-29018")
		assert.ErrorContains(t, err, "CLAUDE_BOTTLE_ALLOW_ENGINE_BUG=CVE-2024-29018")
		// ...unless the operator overrides it explicitly, with a warning.
		notes, err = EngineVerdict("25.0.3", dns, "CVE-2024-29018")
		assert.NilError(t, err)
		assert.Assert(t, strings.HasPrefix(notes[0], "WARNING: "))
		_, err = EngineVerdict("25.0.3", dns, "1")
		assert.Assert(t, err != nil, "a vague override must not do")
	}
	// Fixed engine: nothing to say.
	notes, err = EngineVerdict("26.1.0", nil, "")
	assert.NilError(t, err)
	assert.Equal(t, len(notes), 0)
}

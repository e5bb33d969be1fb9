package docker

import (
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

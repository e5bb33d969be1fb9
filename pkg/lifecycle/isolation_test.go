package lifecycle

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestProbeScriptFindsWhatIsReachable runs the probe script with the host's
// bash against real listeners: what answers is reported, what does not is
// not, and a dead port does not hold the script past Wait.
func TestProbeScriptFindsWhatIsReachable(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash on this host")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	assert.NilError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	open := ln.Addr().(*net.TCPAddr).Port
	closed, err := net.Listen("tcp4", "127.0.0.1:0")
	assert.NilError(t, err)
	dead := closed.Addr().(*net.TCPAddr).Port
	_ = closed.Close()

	opts := ProbeOptions{
		Hosts: []string{"127.0.0.1"}, Ports: []int{open, dead},
		Reach:  []string{"127.0.0.1:" + strconv.Itoa(open), "127.0.0.1:" + strconv.Itoa(dead)},
		Refuse: []string{"localhost:" + strconv.Itoa(open)},
		Wait:   300 * time.Millisecond, Full: true,
	}
	start := time.Now()
	out, err := exec.Command("bash", "-c", ProbeScript(opts)).CombinedOutput()
	assert.NilError(t, err, string(out))
	assert.Assert(t, time.Since(start) < 2*time.Second)
	problems := strings.Join(Judge(opts, string(out)), "\n")
	assert.Assert(t, is.Contains(problems, "reached 127.0.0.1:"+strconv.Itoa(open)+" (an address outside the bottle)"))
	assert.Assert(t, !strings.Contains(problems, "reached 127.0.0.1:"+strconv.Itoa(dead)))
	assert.Assert(t, is.Contains(problems, "could not reach 127.0.0.1:"+strconv.Itoa(dead)))
	assert.Assert(t, is.Contains(problems, "reached localhost:"+strconv.Itoa(open)+" (the agent must have no route to it)"))
	assert.Assert(t, is.Contains(string(out), "CAPBND "), string(out))
}

func TestJudge(t *testing.T) {
	opts := ProbeOptions{Hosts: []string{"10.0.0.1"}, Ports: []int{22}, Reach: []string{"egress:9099"}, Full: true}
	for _, tc := range []struct {
		name, out string
		want      []string
	}{
		{"isolated", "OPEN egress:9099\nCAPBND 0000000000000000\nNONEWPRIVS 1\nDNSREPLY 127.0.0.11 rcode=2 answers=0\nDNSREPLY 127.0.0.11 rcode=5 answers=0\n", nil},
		{"host port", "OPEN egress:9099\nOPEN 10.0.0.1:22\nCAPBND 0\nNONEWPRIVS 1\n", []string{"reached 10.0.0.1:22"}},
		{"sidecar down", "CAPBND 0\nNONEWPRIVS 1\n", []string{"could not reach egress:9099"}},
		{"outside resolver", "OPEN egress:9099\nCAPBND 0\nNONEWPRIVS 1\nDNSREPLY 8.8.8.8 rcode=2 answers=0\n", []string{"resolver 8.8.8.8 answered"}},
		{"embedded forwards", "OPEN egress:9099\nCAPBND 0\nNONEWPRIVS 1\nDNSREPLY 127.0.0.11 rcode=0 answers=2\n", []string{"resolver 127.0.0.11 answered"}},
		{"embedded nxdomain", "OPEN egress:9099\nCAPBND 0\nNONEWPRIVS 1\nDNSREPLY 127.0.0.11 rcode=3 answers=0\n", []string{"resolver 127.0.0.11 answered"}},
		{"ipv6", "OPEN egress:9099\nCAPBND 0\nNONEWPRIVS 1\nIPV6 fe80000000000000 02 40 20 80 eth0\n", []string{"IPv6 addresses"}},
		{"capabilities", "OPEN egress:9099\nCAPBND 00000000a80425fb\nNONEWPRIVS 0\n", []string{"capabilities left", "no_new_privs is not set"}},
		{"no status", "OPEN egress:9099\n", []string{"could not read the process' privileges"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Judge(opts, tc.out)
			assert.Equal(t, len(got), len(tc.want), "%v", got)
			for i, w := range tc.want {
				assert.Assert(t, is.Contains(got[i], w))
			}
		})
	}
}

func TestProbeTargetsOnThisHost(t *testing.T) {
	ports := ProbePorts(true)
	assert.Assert(t, len(ports) >= 6 && len(ports) <= 10, "%v", ports)
	assert.Assert(t, len(ProbePorts(false)) <= 6)
	for _, ip := range ownIPv4s() {
		assert.Assert(t, !strings.HasPrefix(ip, "127."), ip)
	}
}

package standin

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

func query(name string, qtype uint16) []byte {
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0)
	return binary.BigEndian.AppendUint16(append(q, byte(qtype>>8), byte(qtype)), 1)
}

func TestDNSRecordsAndRefuses(t *testing.T) {
	var out bytes.Buffer
	rc := NewRecorder(&out)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer func() { _ = pc.Close() }()
	go func() { _ = ServeDNSUDP("dns", pc, rc) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	assert.NilError(t, err)
	_, err = c.Write(query("MFRGGZDF.allowed.test", 1))
	assert.NilError(t, err)
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	assert.NilError(t, err)
	assert.Equal(t, buf[0], byte(0x12))
	assert.Equal(t, buf[3]&0x0f, byte(3), "NXDOMAIN")
	assert.Equal(t, buf[2]&0x80, byte(0x80), "a response")
	assert.Assert(t, n > 12)
	recs, err := ParseRecords(out.String())
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 1)
	assert.Equal(t, recs[0].Name, "MFRGGZDF.allowed.test")
	assert.Equal(t, recs[0].QType, uint16(1))

	for _, bad := range [][]byte{{1, 2, 3}, {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 70}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		_, _, _, err := DNSAnswer(bad)
		assert.Assert(t, err != nil, "%v", bad)
	}
}

func TestHTTPSRecordsEverything(t *testing.T) {
	var out bytes.Buffer
	rc := NewRecorder(&out)
	ca, err := tlsca.New("standin test CA", tlsca.Options{})
	assert.NilError(t, err)
	cfg, err := TLSConfig("allowed", ca, rc)
	assert.NilError(t, err)
	srv := httptest.NewUnstartedServer(HTTPHandler("allowed", rc))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "www.allowed.test"},
	}}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"k":"hidden-in-gzip"}`))
	assert.NilError(t, zw.Close())
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/up?q=1", &gz)
	assert.NilError(t, err)
	req.Host = "www.allowed.test"
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("X-Data", "header-value")
	resp, err := client.Do(req)
	assert.NilError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, string(body), "standin allowed: POST www.allowed.test/up\n")
	recs, err := ParseRecords(out.String())
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 2)
	assert.Equal(t, recs[0].Kind, "tls")
	assert.Equal(t, recs[0].SNI, "www.allowed.test")
	text := recs[1].Text()
	for _, want := range []string{"X-Data: header-value", "hidden-in-gzip", "/up?q=1", "POST"} {
		assert.Assert(t, is.Contains(text, want))
	}
}

// FuzzDNSAnswer: any datagram either is refused or gets an answer that
// echoes its ID and question and says NXDOMAIN; nothing panics.
func FuzzDNSAnswer(f *testing.F) {
	f.Add(query("a.example.org", 1))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63})
	f.Fuzz(func(t *testing.T, q []byte) {
		ans, name, _, err := DNSAnswer(q)
		if err != nil {
			return
		}
		if len(ans) < 12 || ans[0] != q[0] || ans[1] != q[1] || ans[3]&0x0f != 3 || ans[2]&0x80 == 0 {
			t.Fatalf("bad answer %x to %x", ans, q)
		}
		if len(name) > len(q) {
			t.Fatalf("name %q longer than the query", name)
		}
	})
}

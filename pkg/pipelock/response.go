package pipelock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/inject"
	"github.com/claude-bottle/claude-bottle/internal/logsafe"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// Response scanning: a response the agent will read as text is decoded
// (every Content-Encoding undone, bounded) and scanned for prompt
// injection before it reaches the agent. The first respHead bytes are
// read and scanned before any header is sent, so a finding there is an
// ordinary 403 "blocked:" answer (or, for warn, a header the agent sees);
// the rest streams through in chunks, each scanned (with an overlap for
// phrases cut at a chunk edge) before it is passed on, and a finding there
// cuts the response off. The agent receives the decoded bytes
// (Content-Encoding removed): pipelock never forwards bytes it has not
// read in the clear.
const (
	respHead    = 256 << 10
	respOverlap = 4 << 10
)

// modelAPI are the hosts of the agent's own model API (every bottle's
// default allowlist), whose responses are not scanned for injection.
var modelAPI = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range daemoncfg.DefaultAllowlist() {
		m[h] = true
	}
	return m
}()

// textual reports whether a response of this Content-Type is read as text
// by an agent (and so may carry instructions to it). Binary types pass.
func textual(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt == "" {
		return true // unknown: scanned (the agent may read it as text)
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-ndjson", mt == "application/xhtml+xml", mt == "application/yaml",
		mt == "application/x-yaml", mt == "application/toml":
		return true
	}
	return false
}

// scanResponse is the reverse proxy's ModifyResponse.
func (p *Proxy) scanResponse(res *http.Response) error {
	// The bottle's own headers are pipelock's and egress' word: an origin
	// that sent them would forge a refusal (a "blocked:" answer the agent
	// takes to supervise, an escape test that counts a leak as blocked) or
	// a verdict on its own content.
	res.Header.Del(contract.BlockHeader)
	res.Header.Del(contract.InjectionHeader)
	p.issued.recordRedirect(res)
	if p.injection == "off" || res.Request == nil || res.StatusCode == http.StatusSwitchingProtocols {
		return nil
	}
	host := res.Request.URL.Hostname()
	if modelAPI[host] {
		// The agent's own model: its answers are not third-party content,
		// and they quote injection whenever the agent works on the topic.
		return nil
	}
	// The headers: a reader that shows them (curl -i, a fetch tool) reads
	// them as text whatever the body is.
	hdrWarn := ""
	if f, warn := p.judgeInjection(inject.Scan(headerText(res.Header))); f != nil {
		p.replaceResponse(res, host, http.StatusForbidden, "injection", "the response from "+host+" carries prompt injection aimed at the agent in its headers: "+f.String()+". It was not delivered")
		return nil
	} else if warn != "" {
		hdrWarn = warn
		res.Header.Set(contract.InjectionHeader, warn)
		p.log.Warn("injection finding (reported to the agent)", "host", logsafe.Host(host), "finding", warn)
	}
	ct := res.Header.Get("Content-Type")
	if res.Request.Method == http.MethodHead || res.StatusCode == http.StatusNoContent ||
		res.StatusCode == http.StatusNotModified || media(ct) {
		// No body, or media the agent's tools decode as such: only the
		// trailers, if any, are read.
		if res.Body != nil && res.Body != http.NoBody {
			res.Body = &trailerGuard{ReadCloser: res.Body, p: p, host: host, res: res}
		}
		return nil
	}
	isText := textual(ct)
	encs, rf := contentEncodings(res.Header)
	if rf != nil {
		p.replaceResponse(res, host, http.StatusBadGateway, "response-encoding", "the response's "+rf.msg)
		return nil
	}
	var body io.Reader = res.Body
	for i := len(encs) - 1; i >= 0; i-- {
		r, err := streamDecoder(encs[i], body)
		if err != nil {
			p.replaceResponse(res, host, http.StatusBadGateway, "response-encoding", fmt.Sprintf("the response does not decode as Content-Encoding %s: %v", encs[i], err))
			return nil
		}
		body = r
	}
	// A text response (or a decoding) is bounded; a body not labelled as
	// text and not encoded (a download) streams through whatever its size.
	limit := int64(math.MaxInt64)
	if isText || len(encs) > 0 {
		limit = p.lim.MaxResponse
		body = io.LimitReader(body, limit+1)
	}
	stream := ct != "" && strings.HasPrefix(strings.ToLower(ct), "text/event-stream")
	var head []byte
	var readErr error
	view, headText := textView(rawView), ""
	if !stream {
		head, readErr = io.ReadAll(io.LimitReader(body, respHead))
		if readErr != nil {
			p.replaceResponse(res, host, http.StatusBadGateway, "response-encoding", fmt.Sprintf("the response body could not be read and decoded: %v", readErr))
			return nil
		}
		view = responseView(ct, head, isText)
		headText = view(head, 0)
		if f, warn := p.judgeInjection(inject.Scan(headText)); f != nil {
			p.replaceResponse(res, host, http.StatusForbidden, "injection", "the response from "+host+" carries prompt injection aimed at the agent: "+f.String()+". It was not delivered")
			return nil
		} else if warn != "" {
			if hdrWarn != "" {
				warn = hdrWarn + "; " + warn
			}
			res.Header.Set(contract.InjectionHeader, warn)
			p.log.Warn("injection finding (reported to the agent)", "host", logsafe.Host(host), "finding", warn)
		}
	}
	if len(encs) > 0 {
		res.Header.Del("Content-Encoding")
		res.Header.Del("Content-Length")
		res.Header.Del("Content-Md5")
		res.ContentLength = -1
		res.Uncompressed = true
	}
	sr := &scanReader{p: p, host: host, src: body, orig: res.Body, res: res, pending: head, tail: tailOf(head), total: int64(len(head)), limit: limit, view: view, events: stream}
	if int64(len(head)) == respHead {
		sr.carrier = inject.OpenCarrier(headText)
	}
	if int64(len(head)) < respHead && !stream {
		// The whole response was in the head: its length is known, and
		// nothing is left to read (nor a buffer to read it into).
		sr.src = eofReader{}
		if len(encs) > 0 {
			res.ContentLength = int64(len(head))
			res.Header.Set("Content-Length", strconv.Itoa(len(head)))
		}
	}
	res.Body = sr
	return nil
}

// trailerGuard passes a body on unread and, at its end, reads the
// response's trailers for injection.
type trailerGuard struct {
	io.ReadCloser
	p    *Proxy
	host string
	res  *http.Response
}

func (t *trailerGuard) Read(b []byte) (int, error) {
	n, err := t.ReadCloser.Read(b)
	if errors.Is(err, io.EOF) {
		if terr := t.p.checkTrailers(t.res, t.host); terr != nil {
			return n, terr
		}
	}
	return n, err
}

// checkTrailers reads a response's trailers (filled in once its body was
// read to the end) for injection; with a finding, they are dropped and the
// response is cut off before them.
func (p *Proxy) checkTrailers(res *http.Response, host string) error {
	if len(res.Trailer) == 0 {
		return nil
	}
	f, warn := p.judgeInjection(inject.Scan(headerText(res.Trailer)))
	if f != nil {
		clear(res.Trailer)
		p.log.Info("decision", "decision", "deny", "host", logsafe.Host(host), "reason", "injection", "detail", f.String()+" (in the trailers; response cut off)")
		return errInjection
	}
	if warn != "" {
		p.log.Warn("injection finding in the trailers (logged only)", "host", logsafe.Host(host), "finding", warn)
	}
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func tailOf(b []byte) []byte {
	if len(b) > respOverlap {
		b = b[len(b)-respOverlap:]
	}
	return bytes.Clone(b)
}

// errInjection aborts a response whose later part carries injection.
var errInjection = errors.New("pipelock: prompt injection found in the response; the rest was not delivered")

// scanReader passes on a response's decoded bytes after scanning them.
type scanReader struct {
	p     *Proxy
	host  string
	src   io.Reader
	orig  io.Closer
	res   *http.Response // its trailers are read at the end
	limit int64          // the decoded bytes passed on at most
	view  textView       // how the bytes read as text
	// carrier: a hidden carrier (comment, hidden element) still open at
	// the end of what was scanned, put in front of the next window.
	carrier string
	pending []byte // scanned, not yet handed out
	tail    []byte // the last respOverlap scanned bytes
	total   int64
	buf     []byte
	err     error
	// events: an event stream is handed out an event at a time. The bytes
	// after its last complete event (a blank line ends one) are held until
	// the event is complete, or until they are more than respOverlap long
	// (then all but their last respOverlap bytes go, as a match spans less
	// than that): a server dripping an injection a byte per flush otherwise
	// got every byte before the one completing the match to the agent.
	events bool
	held   []byte
}

func (s *scanReader) Read(b []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		var n int
		var err error
		if _, done := s.src.(eofReader); done {
			err = io.EOF // no buffer for a body read whole in its head
		} else {
			if s.buf == nil {
				s.buf = make([]byte, 64<<10)
			}
			n, err = s.src.Read(s.buf)
		}
		if n > 0 {
			s.total += int64(n)
			if s.total > s.limit {
				s.err = fmt.Errorf("pipelock: the response decodes past %d MiB; cut off", s.p.lim.MaxResponse>>20)
				return 0, s.err
			}
			chunk := s.buf[:n]
			window := append(bytes.Clone(s.tail), chunk...)
			text := s.carrier + s.view(window, s.total-int64(len(window)))
			s.carrier = inject.OpenCarrier(text)
			if f, warn := s.p.judgeInjection(inject.Scan(text)); f != nil {
				s.p.log.Info("decision", "decision", "deny", "host", logsafe.Host(s.host), "reason", "injection", "detail", f.String()+" (response cut off)")
				s.err = errInjection
				return 0, s.err
			} else if warn != "" {
				s.p.log.Warn("injection finding past the response head (logged only)", "host", logsafe.Host(s.host), "finding", warn)
			}
			s.pending = chunk
			s.tail = tailOf(window)
			if s.events {
				data := append(s.held, chunk...)
				cut := max(lastEventEnd(data), len(data)-respOverlap)
				s.pending, s.held = data[:cut], bytes.Clone(data[cut:])
			}
		}
		if err != nil {
			s.err = err
			if errors.Is(err, io.EOF) && s.res != nil {
				// The trailers arrive after the body: read with a
				// finding, the response is cut off before them.
				if terr := s.p.checkTrailers(s.res, s.host); terr != nil {
					s.err, s.pending, s.held = terr, nil, nil
					return 0, terr
				}
			}
			// The stream ended: what was held was scanned with all
			// that came before it, and no more can complete a match.
			s.pending, s.held = append(s.pending, s.held...), nil
		}
	}
	n := copy(b, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *scanReader) Close() error { return s.orig.Close() }

// lastEventEnd is the length of the complete events at the start of b:
// the offset just past its last blank line (two line ends in a row; a
// line ends with CR LF, LF or CR), or 0.
func lastEventEnd(b []byte) int {
	end, lineEnded := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\n' && c != '\r' {
			lineEnded = false
			continue
		}
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
		if lineEnded {
			end, lineEnded = i+1, false
			continue
		}
		lineEnded = true
	}
	return end
}

// replaceResponse turns res into pipelock's own "blocked:" answer.
func (p *Proxy) replaceResponse(res *http.Response, host string, status int, reason, msg string) {
	_ = res.Body.Close()
	p.log.Info("decision", "decision", "deny", "host", logsafe.Host(host), "reason", reason, "detail", msg)
	body := "blocked: " + msg + "\nIf this response is needed, call the supervise MCP tool " + contract.ToolPipelockBlock + " with the URL (failed_url) and a justification.\n"
	res.StatusCode = status
	res.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	res.Header = http.Header{}
	res.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res.Header.Set("X-Content-Type-Options", "nosniff")
	res.Header.Set(contract.BlockHeader, "pipelock; reason="+reason+"; tool="+contract.ToolPipelockBlock)
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	res.ContentLength = int64(len(body))
	res.Trailer = nil
	res.Body = io.NopCloser(strings.NewReader(body))
}

// streamDecoder undoes one coding of a response stream.
func streamDecoder(coding string, r io.Reader) (io.Reader, error) {
	switch coding {
	case "deflate":
		// zlib, or raw deflate when the zlib header is absent.
		br := bufioReader(r)
		if hdr, err := br.Peek(2); err == nil && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 && hdr[0]&0x0f == 8 {
			return decoderStream("zlib", br)
		}
		return decoderStream("flate", br)
	default:
		return decoderStream(coding, r)
	}
}

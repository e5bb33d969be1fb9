package pipelock

import (
	"crypto/sha256"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// Split-secret window: a known secret (canary, route token) cut into
// pieces sent in several requests to one host. Each request's values are
// filed into slots — path segment i, query key k, the query keys, header h,
// JSON field k, form field k, the body, WebSocket messages, and one slot of
// everything the request carried — and each slot keeps the tail of what
// passed through it. A new value is scanned joined to its slot's tail, so
// pieces sent one after the other in the same place meet again.
//
// Bounds (see docs/threat-model.md): slotKeep bytes per slot (three times
// the longest known secret, so percent-encoded or base64 pieces still fit,
// at most 1 KiB), maxSlots slots per host, maxHosts hosts, entries older
// than splitTTL forgotten: at most 64 × 32 × 1 KiB = 2 MiB.
const (
	maxHosts  = 64
	maxSlots  = 32
	maxKeep   = 1024
	splitTTL  = 10 * time.Minute
	allValues = "*"
)

type splitSlot struct {
	tail []byte
	at   time.Time
	// seq orders the slots filed at one time (one request's values):
	// of those, the first filed is evicted first.
	seq uint64
	// clean is the SHA-256 of this slot's last join that scanned clean:
	// the same join again (a header sent with the same value on every
	// request, once the tail has filled with it) is not scanned again. The
	// window belongs to one configuration's scanner, so a verdict cannot
	// outlive the known secrets it was made with.
	clean [sha256.Size]byte
}

type splitHost struct {
	at    time.Time
	slots map[string]*splitSlot
	seq   uint64
}

// splitWindow is the per-destination window; safe for concurrent use.
type splitWindow struct {
	scan  *dlp.Scanner // known secrets only
	keep  int
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	hosts map[string]*splitHost
}

// newSplitWindow returns nil when there are no known secrets to look for.
func newSplitWindow(known []secretfp.Fingerprint) (*splitWindow, error) {
	if len(known) == 0 {
		return nil, nil
	}
	// Known secrets, and the provider formats a token split in two would
	// complete, but no payment data: a join of unrelated numbers (ids,
	// counters, page numbers of one path segment) makes long digit runs no
	// request held, and a tenth of them pass Luhn's check.
	s, err := dlp.New(dlp.Options{Known: known, NoGitleaks: true, NoEntropy: true, Disable: []string{dlp.ClassCard, dlp.ClassIBAN}})
	if err != nil {
		return nil, err
	}
	longest := 0
	for _, k := range known {
		longest = max(longest, k.Length)
	}
	return &splitWindow{scan: s, keep: min(3*longest, maxKeep), ttl: splitTTL, now: time.Now, hosts: map[string]*splitHost{}}, nil
}

// slotValue is one value of a request and the slot it belongs to.
type slotValue struct {
	slot string
	text string
}

// check joins every value to its slot's tail and scans the joins for known
// secrets. With no finding it records the values (the request is about to
// be forwarded); with one it records nothing and returns it.
func (w *splitWindow) check(host string, vals []slotValue) (dlp.Finding, bool) {
	if w == nil || len(vals) == 0 {
		return dlp.Finding{}, false
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hosts[host]
	if h != nil && now.Sub(h.at) > w.ttl {
		h = nil
	}
	var parts []dlp.Part
	var sums [][sha256.Size]byte
	var scanned []*splitSlot
	for _, v := range vals {
		var s *splitSlot
		if h != nil {
			s = h.slots[v.slot]
		}
		if v.slot == allValues {
			// The values of this request run together (a secret split
			// over two headers, two path segments or query values of
			// one request, anywhere in it), with no tail needed: the
			// first request to a host included.
			parts = append(parts, dlp.Part{Name: "split request values", Text: v.text})
			sums, scanned = append(sums, [sha256.Size]byte{}), append(scanned, nil)
		}
		if s == nil || now.Sub(s.at) > w.ttl || len(s.tail) == 0 {
			continue
		}
		head := v.text
		if len(head) > w.keep {
			head = head[:w.keep]
		}
		text := string(s.tail) + head
		sum := sha256.Sum256([]byte(text))
		if sum == s.clean {
			continue
		}
		parts = append(parts, dlp.Part{Name: "split " + v.slot, Text: text})
		sums, scanned = append(sums, sum), append(scanned, s)
	}
	if len(parts) > 0 {
		if fs := w.scan.ScanParts(parts); len(fs) > 0 {
			f := fs[0]
			f.Part = "pieces sent to this host within " + w.ttl.String() + " (" + f.Part + ")"
			return f, true
		}
		for i, s := range scanned {
			if s != nil {
				s.clean = sums[i]
			}
		}
	}
	if h == nil {
		h = &splitHost{slots: map[string]*splitSlot{}}
		w.evictHost()
		w.hosts[host] = h
	}
	h.at = now
	for _, v := range vals {
		s := h.slots[v.slot]
		if s == nil {
			if len(h.slots) >= maxSlots {
				evictSlot(h)
			}
			s = &splitSlot{}
			h.slots[v.slot] = s
		} else if now.Sub(s.at) > w.ttl {
			s.tail = s.tail[:0]
		}
		s.at = now
		h.seq++
		s.seq = h.seq
		t := v.text
		if len(t) >= w.keep {
			s.tail = append(s.tail[:0], t[len(t)-w.keep:]...)
			continue
		}
		s.tail = append(s.tail, t...)
		if len(s.tail) > w.keep {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-w.keep:]...)
		}
	}
	return dlp.Finding{}, false
}

func (w *splitWindow) evictHost() {
	if len(w.hosts) < maxHosts {
		return
	}
	var oldest string
	var at time.Time
	for k, h := range w.hosts {
		if oldest == "" || h.at.Before(at) {
			oldest, at = k, h.at
		}
	}
	delete(w.hosts, oldest)
}

func evictSlot(h *splitHost) {
	var oldest string
	var at time.Time
	var seq uint64
	for k, s := range h.slots {
		if oldest == "" || s.at.Before(at) || s.at.Equal(at) && s.seq < seq {
			oldest, at, seq = k, s.at, s.seq
		}
	}
	delete(h.slots, oldest)
}

// memory is the bytes the window holds now (for tests and benchmarks).
func (w *splitWindow) memory() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, h := range w.hosts {
		for _, s := range h.slots {
			n += cap(s.tail)
		}
	}
	return n
}

// urlValues files the path segments, the query keys and every query value.
func urlValues(u *url.URL) []slotValue {
	var out []slotValue
	for i, seg := range strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/") {
		if seg != "" {
			out = append(out, slotValue{slot: "path/" + strconv.Itoa(i), text: seg})
		}
	}
	if u.RawQuery == "" {
		return out
	}
	var keys strings.Builder
	for kv := range strings.SplitSeq(u.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		keys.WriteString(k)
		if v != "" {
			out = append(out, slotValue{slot: "query/" + k, text: v})
		}
	}
	return append(out, slotValue{slot: "query keys", text: keys.String()})
}

// joinAll prepares a request's values for check: values of one slot are
// merged (the first one's head joins the slot's tail, the last one's tail
// becomes the next), the slot of everything the request carried is added,
// and only the first and last keep bytes of a value are kept — its middle
// was scanned with the request — so nothing large is copied.
func (w *splitWindow) joinAll(vals []slotValue) []slotValue {
	j := w.newJoin()
	for _, v := range vals {
		j.add(v.slot, v.text)
	}
	return j.values()
}

// valueJoin is joinAll taking the values one at a time, as a body's
// parser gives them: it keeps only the ends of each, so the values of a
// large body are never all held at once. The zero of *valueJoin (no
// window) takes nothing.
type valueJoin struct {
	keep   int
	bySlot map[string]*valueEnds
	order  []string
	all    strings.Builder
	n      int
	// watched, when set (a body's join, forHost), bounds the slots taken:
	// every slot the window held for the host when the request began
	// (the only ones a value could be joined to a tail in, barring a
	// request to the host finishing meanwhile) and maxSlots
	// others (the window keeps at most maxSlots slots of a host), the
	// last maxSlots when there are more, as the window keeps the last:
	// a form of 100,000 fields keeps the ends of 64 at most, not of
	// every field.
	watched map[string]bool
	others  int
}

type valueEnds struct{ head, tail string }

func (w *splitWindow) newJoin() *valueJoin {
	if w == nil {
		return nil
	}
	return &valueJoin{keep: w.keep, bySlot: map[string]*valueEnds{}}
}

// joinFor is newJoin for one request to host, bounded (valueJoin.watched).
func (w *splitWindow) joinFor(host string) *valueJoin {
	if w == nil {
		return nil
	}
	j := w.newJoin()
	j.watched = map[string]bool{}
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.hosts[host]; h != nil {
		for slot := range h.slots {
			j.watched[slot] = true
		}
	}
	return j
}

// sibling is a new join bounded by the same look at the window as j.
func (j *valueJoin) sibling() *valueJoin {
	if j == nil {
		return nil
	}
	return &valueJoin{keep: j.keep, bySlot: map[string]*valueEnds{}, watched: j.watched}
}

// takes reports whether j keeps the ends of a new slot, and counts it.
func (j *valueJoin) takes(slot string) bool {
	if j.watched == nil || j.watched[slot] {
		return true
	}
	if j.others >= maxSlots {
		// The window files a request's values in order and keeps the
		// last maxSlots slots of a host: so does the join — the oldest
		// other slot gives way (a piece in the last of 100 fields is
		// joined as in a small body).
		for k, o := range j.order {
			if !j.watched[o] {
				delete(j.bySlot, o)
				j.order = append(j.order[:k], j.order[k+1:]...)
				return true
			}
		}
		return false
	}
	j.others++
	return true
}

// cut is the first and last keep bytes of t; they are copied when t is
// longer (t may be a large body, or share a body's memory).
func (j *valueJoin) cut(t string) valueEnds {
	if len(t) > j.keep {
		return valueEnds{strings.Clone(t[:j.keep]), strings.Clone(t[len(t)-j.keep:])}
	}
	return valueEnds{t, t}
}

func (j *valueJoin) add(slot, text string) {
	if j == nil {
		return
	}
	if len(slot) > 64 {
		slot = slot[:64]
	}
	x := j.bySlot[slot]
	take := x != nil || j.takes(slot)
	if j.n++; !take && j.n > 64 {
		return
	}
	e := j.cut(text)
	// The slot of everything is written while there are at most 64
	// values (more would make it a run of unrelated ends).
	if j.n <= 64 {
		j.all.WriteString(e.head)
		if e.tail != e.head {
			j.all.WriteString(e.tail)
		}
	}
	switch {
	case !take:
	case x != nil:
		x.tail = e.tail
	default:
		slot = strings.Clone(slot)
		j.bySlot[slot] = &e
		j.order = append(j.order, slot)
	}
}

// merge adds what o took after what j took, as if j had taken o's
// values one at a time after its own.
func (j *valueJoin) merge(o *valueJoin) {
	if j == nil || o == nil {
		return
	}
	for _, slot := range o.order {
		e := o.bySlot[slot]
		if x := j.bySlot[slot]; x != nil {
			x.tail = e.tail
			continue
		}
		if !j.takes(slot) {
			continue
		}
		j.bySlot[slot] = &valueEnds{e.head, e.tail}
		j.order = append(j.order, slot)
	}
	// The slot of everything holds the ends of the first 64 values; past
	// 64 it is not used.
	if j.n+o.n <= 64 {
		j.all.WriteString(o.all.String())
	}
	j.n += o.n
}

// values are the joined values for check.
func (j *valueJoin) values() []slotValue {
	if j == nil {
		return nil
	}
	out := make([]slotValue, 0, len(j.order)+1)
	for _, slot := range j.order {
		e := j.bySlot[slot]
		t := e.head
		if e.tail != e.head {
			t = e.head + "\x00" + e.tail
		}
		out = append(out, slotValue{slot: slot, text: t})
	}
	if j.n <= 64 && j.all.Len() > 0 {
		// Whole: at most 64 values' first and last keep bytes. check
		// scans it alone, and joins its first keep bytes to the slot's
		// tail as any value's.
		out = append(out, slotValue{slot: allValues, text: j.all.String()})
	}
	return out
}

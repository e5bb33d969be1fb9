package pipelock

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// joinAllRef is joinAll as it was before it took the values one at a
// time (valueJoin): the reference the incremental join must equal.
func joinAllRef(w *splitWindow, vals []slotValue) []slotValue {
	if w == nil {
		return nil
	}
	type ends struct{ head, tail string }
	cut := func(t string) ends {
		if len(t) > w.keep {
			return ends{t[:w.keep], t[len(t)-w.keep:]}
		}
		return ends{t, t}
	}
	bySlot := map[string]*ends{}
	var order []string
	var all strings.Builder
	for _, v := range vals {
		slot := v.slot
		if len(slot) > 64 {
			slot = slot[:64]
		}
		e := cut(v.text)
		if len(vals) <= 64 {
			all.WriteString(e.head)
			if e.tail != e.head {
				all.WriteString(e.tail)
			}
		}
		if x := bySlot[slot]; x != nil {
			x.tail = e.tail
			continue
		}
		bySlot[slot] = &e
		order = append(order, slot)
	}
	out := make([]slotValue, 0, len(order)+1)
	for _, slot := range order {
		e := bySlot[slot]
		t := e.head
		if e.tail != e.head {
			t = e.head + "\x00" + e.tail
		}
		out = append(out, slotValue{slot: slot, text: t})
	}
	if all.Len() > 0 {
		out = append(out, slotValue{slot: allValues, text: all.String()})
	}
	return out
}

func TestValueJoinMatchesJoinAll(t *testing.T) {
	w := &splitWindow{keep: 24}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var vals []slotValue
		for range r.IntN(90) {
			slot := "s" + strconv.Itoa(r.IntN(6))
			if r.IntN(10) == 0 {
				slot = strings.Repeat("k", 60+r.IntN(10)) + strconv.Itoa(r.IntN(3))
			}
			n := r.IntN(60)
			if r.IntN(8) == 0 {
				n = 0
			}
			d := strconv.Itoa(r.IntN(1000))
			text := strings.Repeat(string(rune('a'+r.IntN(3))), n/2) + d[:min(n, len(d))]
			vals = append(vals, slotValue{slot: slot, text: text})
		}
		got, want := w.joinAll(vals), joinAllRef(w, vals)
		assert.Assert(t, reflect.DeepEqual(got, want), "%q: %q, want %q", vals, got, want)
	}
	var none *splitWindow
	assert.Assert(t, none.joinAll([]slotValue{{slot: "a", text: "b"}}) == nil)
}

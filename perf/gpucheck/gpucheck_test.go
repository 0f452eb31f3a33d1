package gpucheck_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/nvml"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
)

// Windows over which the GPU is observed: the quantities under test are
// averages over time, so these waits are the measurement, not a sync.
const (
	idleWindow = 2 * time.Second
	loadWindow = 6 * time.Second
	costWindow = 5 * time.Second
	loadFor    = 45 // seconds of matmuls: covers the load window and the perf run
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func openGPU() gpu.Source {
	src, err := nvml.Open(os.Getenv("PERF_GPU"))
	if errors.Is(err, gpu.ErrNoGPU) && os.Getenv("HARNESS_REQUIRE_GPU") != "1" {
		Skip("no GPU here (" + err.Error() + "); HARNESS_REQUIRE_GPU=1 makes this a failure")
	}
	Expect(err).NotTo(HaveOccurred())
	return src
}

// observe samples src every interval over a window as one cell.
func observe(ctx context.Context, src gpu.Source, name string, window time.Duration) gpu.Window {
	s, err := gpu.NewSampler(src, gpu.MinInterval, nil)
	Expect(err).NotTo(HaveOccurred())
	s.Start(ctx)
	s.BeginCell(name)
	select {
	case <-time.After(window):
	case <-ctx.Done():
	}
	st := s.EndCell()
	s.Stop() // also closes src: callers open a fresh one
	return st
}

// startLoad runs the matmul load and returns once it has allocated.
func startLoad(ctx context.Context) {
	script := env("GPU_LOAD", filepath.Join("..", "..", "fixtures", "gpu", "load.py"))
	cmd := exec.CommandContext(ctx, "python3", script, strconv.Itoa(loadFor))
	out, err := cmd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	cmd.Stderr = GinkgoWriter
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	Expect(err).NotTo(HaveOccurred(), "the GPU load did not start")
	GinkgoWriter.Print(line)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	Expect(syscall.Getrusage(syscall.RUSAGE_SELF, &ru)).To(Succeed())
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Ordered: the idle baseline is read before the load starts.
var _ = Describe("GPU sampling on a real GPU", Label("needs:gpu"), Ordered, ContinueOnFailure, func() {
	var idle gpu.Window

	It("reads an idle baseline", func(ctx SpecContext) {
		idle = observe(ctx, openGPU(), "idle", idleWindow)
		b, _ := json.Marshal(idle)
		AddReportEntry("idle", string(b))
		Expect(idle.Devices).NotTo(BeEmpty())
	})

	It("sees utilisation, power, energy and memory rise under a matmul load", func(ctx SpecContext) {
		src := openGPU()
		startLoad(ctx)
		load := observe(ctx, src, "load", loadWindow)
		b, _ := json.Marshal(load)
		AddReportEntry("load", string(b))
		for i, d := range load.Devices {
			By(fmt.Sprintf("device %d", d.Index))
			Expect(d.Lost).To(BeFalse())
			Expect(d.UtilAvg).To(BeNumerically(">", 0), "utilization.gpu under load")
			Expect(d.UtilAvg).To(BeNumerically(">", idle.Devices[i].UtilAvg))
			Expect(d.PowerAvg).To(BeNumerically(">", idle.Devices[i].PowerAvg), "power under load vs idle")
			Expect(d.EnergyMethod).To(Equal("counter"), "the total-energy counter is read")
			Expect(d.EnergyJ/loadWindow.Seconds()).To(BeNumerically(">", idle.Devices[i].EnergyJ/idleWindow.Seconds()),
				"the energy counter rises faster under load (J/s)")
			Expect(d.MemUsedMax).To(BeNumerically(">", idle.Devices[i].MemUsedMax), "memory used grows with the load's tensors")
			if d.SMActivityAvg != nil {
				Expect(*d.SMActivityAvg).To(BeNumerically(">", 0), "GPM SM activity under load")
			}
		}
	})

	It("costs under 1% of a core at 10 Hz", func(ctx SpecContext) {
		src := openGPU()
		s, err := gpu.NewSampler(src, gpu.MinInterval, nil)
		Expect(err).NotTo(HaveOccurred())
		s.BeginCell("cost")
		before, began := cpuTime(), time.Now()
		s.Start(ctx)
		select {
		case <-time.After(costWindow):
		case <-ctx.Done():
		}
		st := s.EndCell()
		used, wall := cpuTime()-before, time.Since(began)
		_ = s.Stop()
		rounds := st.Devices[0].Samples
		frac := used.Seconds() / wall.Seconds()
		AddReportEntry("sampler cost", fmtCost(rounds, len(st.Devices), used, frac))
		Expect(rounds).To(BeNumerically(">=", int(costWindow/gpu.MinInterval)-2))
		Expect(frac).To(BeNumerically("<", 0.01), "share of one core at 10 Hz")
	})

	It("fills the perf suite's GPU columns", func(ctx SpecContext) {
		src := openGPU() // proves a GPU is there before running the suite
		_ = src.Close()
		bin := os.Getenv("HARNESS_PERF_SUITE_BIN")
		if bin == "" {
			bin = filepath.Join(GinkgoT().TempDir(), "perf.test")
			out, err := exec.Command("go", "test", "-c", "-o", bin, "github.com/llm-platform/harness/perf").CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		}
		dir := env("GPU_CHECK_REPORTS", GinkgoT().TempDir())
		cmd := exec.CommandContext(ctx, bin, "-test.v")
		// PERF_GPU_SOURCE=auto: NVML answers here, so the DCGM exporter is
		// never looked for.
		cmd.Env = append(os.Environ(), "PERF_REQUIRE_GPU=1", "PERF_GPU_SOURCE=auto", "PERF_REPORT_DIR="+dir, "PERF_SIM_PRESET=fast",
			"PERF_PAYLOADS=short", "PERF_CONCURRENCY=1,4", "PERF_ITERATIONS_PER_VU=6", "PERF_GPU_INTERVAL=200ms", "PERF_PROGRESS=0")
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Run()).To(Succeed(), "the perf suite with PERF_REQUIRE_GPU=1")

		res, err := results.Load(filepath.Join(dir, report.FileResults))
		Expect(err).NotTo(HaveOccurred())
		Expect(res.GPUs).NotTo(BeEmpty())
		Expect(res.GPUReason).To(BeEmpty())
		Expect(res.GPUs[0].Source).To(Equal("nvml"), "auto chose NVML")
		for _, c := range res.Cells {
			g := c.GPU
			Expect(g).NotTo(BeNil(), c.Name())
			Expect(g.Source).To(Equal("nvml"), c.Name())
			Expect(g.Devices).NotTo(BeEmpty(), c.Name())
			Expect(g.PowerAvg).To(BeNumerically(">", 0), c.Name())
			Expect(g.EnergyJ).To(BeNumerically(">", 0), c.Name())
			Expect(g.JoulesPerToken).To(BeNumerically(">", 0), c.Name())
			b, _ := json.Marshal(g) // as results.json has it (%+v would print its optional figures as pointers)
			AddReportEntry(c.Name(), string(b))
		}
		md, err := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(md)).To(ContainSubstring("| GPU 0 | "))
		Expect(string(md)).To(ContainSubstring("figures from NVML on this machine"))
		Expect(string(md)).To(ContainSubstring("(gpu-util.svg)"))
		csv, err := os.ReadFile(filepath.Join(dir, report.FileGPUTimeline))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(csv)).To(HavePrefix("timestamp, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W]"))
	})
})

func fmtCost(rounds, devices int, used time.Duration, frac float64) string {
	per := time.Duration(0)
	if rounds > 0 {
		per = used / time.Duration(rounds)
	}
	return fmt.Sprintf("%d rounds of %d device(s): CPU %v (%v per round), %.3f%% of one core", rounds, devices, used, per, frac*100)
}

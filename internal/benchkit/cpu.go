package benchkit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// CPUSample is the CPU time (user + system, in ticks) each component of the network has used
// so far: peers, orderers, chaincode, gateways, watcher.
type CPUSample map[string]int64

// Component names the part of the network a node of network.sh belongs to.
func Component(node string) string {
	switch {
	case strings.HasPrefix(node, "peer"):
		return "peers"
	case strings.HasPrefix(node, "orderer"):
		return "orderers"
	case strings.HasPrefix(node, "cc."):
		return "chaincode"
	case strings.HasPrefix(node, "gateway."):
		return "gateways"
	}
	return node
}

// SampleCPU reads the CPU time of every node network.sh started (runDir/pids/NODE.pid). A node
// that is not running counts nothing.
func SampleCPU(runDir string) CPUSample {
	s := CPUSample{}
	files, _ := filepath.Glob(filepath.Join(runDir, "pids", "*.pid"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", strings.TrimSpace(string(raw))))
		if err != nil {
			continue
		}
		if t, ok := statTicks(string(stat)); ok {
			s[Component(strings.TrimSuffix(filepath.Base(f), ".pid"))] += t
		}
	}
	return s
}

// statTicks returns utime + stime of a /proc/PID/stat line. The command name (field 2) may
// hold spaces and parentheses, so the fields are counted after its last ')'.
func statTicks(stat string) (int64, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}

// PerTx returns the CPU milliseconds per transaction of each component between two samples,
// and "total".
func PerTx(before, after CPUSample, txs int64) map[string]float64 {
	out := map[string]float64{}
	if txs <= 0 {
		return out
	}
	var total int64
	for c, t := range after {
		d := t - before[c]
		if d < 0 {
			d = 0 // the node restarted meanwhile
		}
		out[c] = float64(d) * 1000 / clockTicks / float64(txs)
		total += d
	}
	out["total"] = float64(total) * 1000 / clockTicks / float64(txs)
	return out
}

// FormatPerTx prints a PerTx map as "total 12.3 (peers 8.1, orderers 2.0, ...)" in ms,
// components by decreasing share.
func FormatPerTx(m map[string]float64) string {
	var names []string
	for c := range m {
		if c != "total" {
			names = append(names, c)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, 0, len(names))
	for _, c := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", c, m[c]))
	}
	return fmt.Sprintf("total %.1f ms (%s)", m["total"], strings.Join(parts, ", "))
}

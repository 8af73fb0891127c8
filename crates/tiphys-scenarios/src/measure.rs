//! Process measurements read from the kernel: CPU time of this process, of its waited-for
//! children, of the calling thread and of another process, and the peak resident set size.
//! They are what the scenario reports, so they come from the kernel and not from estimates.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

fn seconds(ts: rustix::time::Timespec) -> f64 {
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// CPU seconds (user + system) this process has used, all threads.
pub fn process_cpu_s() -> f64 {
    seconds(clock_gettime(ClockId::ProcessCPUTime))
}

/// CPU seconds the calling thread has used (the scenario's driver thread, subtracted from the
/// process total so the controller's figure excludes the measuring).
pub fn thread_cpu_s() -> f64 {
    seconds(clock_gettime(ClockId::ThreadCPUTime))
}

/// The kernel's clock tick (`USER_HZ`), the unit of `/proc/*/stat` times; 100 on Linux.
const USER_HZ: f64 = 100.0;

/// The `/proc/<pid>/stat` fields after the command name (which may contain spaces).
fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // Field 3 (state) is not a number; keep positions by mapping it to 0.
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// CPU seconds of this process's terminated, waited-for children (`cutime + cstime`): the git
/// subprocesses the controller runs and the scenario's own `git`/`kubectl` runs.
pub fn children_cpu_s() -> f64 {
    // After the command: state=0, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt,
    // majflt, cmajflt, utime=11, stime=12, cutime=13, cstime=14.
    stat_fields("self").and_then(|f| Some((f.get(13)? + f.get(14)?) as f64 / USER_HZ)).unwrap_or(0.0)
}

/// CPU seconds (user + system, own threads) another process has used so far.
pub fn pid_cpu_s(pid: u32) -> f64 {
    stat_fields(&pid.to_string())
        .and_then(|f| Some((f.get(11)? + f.get(12)?) as f64 / USER_HZ))
        .unwrap_or(0.0)
}

/// Peak resident set size of this process in MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// The 1-minute load average, so a reader can judge how busy the machine was.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// CPU seconds the controller used between two points: the process total minus what the
/// driver thread itself used.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    process: f64,
    driver: f64,
    children: f64,
}

impl CpuMark {
    /// Takes a mark; call it on the driver thread.
    pub fn now() -> CpuMark {
        CpuMark { process: process_cpu_s(), driver: thread_cpu_s(), children: children_cpu_s() }
    }

    /// (controller CPU seconds, children CPU seconds) since `self`; call on the driver thread.
    pub fn since(&self) -> (f64, f64) {
        let now = CpuMark::now();
        ((now.process - self.process) - (now.driver - self.driver), now.children - self.children)
    }
}

/// Latency percentiles of a set of samples, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    /// How many samples.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile (nearest rank; with fewer than 100 samples this is the maximum).
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples`.
    pub fn of(samples: &[Duration]) -> Latency {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| -> f64 {
            if ms.is_empty() {
                return 0.0;
            }
            let i = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[i.clamp(1, ms.len()) - 1]
        };
        Latency { samples: ms.len(), p50_ms: rank(50.0), p99_ms: rank(99.0), max_ms: rank(100.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::of(&samples);
        assert_eq!((l.samples, l.p50_ms, l.p99_ms, l.max_ms), (100, 50.0, 99.0, 100.0));
        let l = Latency::of(&[Duration::from_millis(7), Duration::from_millis(3)]);
        assert_eq!((l.p50_ms, l.p99_ms), (3.0, 7.0));
        assert_eq!(Latency::of(&[]).samples, 0);
    }

    #[test]
    fn kernel_figures_are_positive() {
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(process_cpu_s() > 0.0 && thread_cpu_s() > 0.0);
        assert!(peak_rss_mib() > 1.0);
        assert!(pid_cpu_s(std::process::id()) >= 0.0);
    }
}

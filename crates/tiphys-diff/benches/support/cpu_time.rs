//! A criterion measurement of the benchmark thread's own CPU time (Linux
//! `/proc/thread-self/schedstat`, nanoseconds). The shared 2-core machine runs many builds at
//! once, so wall time mostly measures the queue; CPU time is what "per core" claims mean.
//! Shared by the tiphys-diff and tiphys-sync benches.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// On-CPU nanoseconds of the current thread.
pub struct CpuTime;

fn on_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| {
            panic!("/proc/thread-self/schedstat is unreadable: CPU-time benches need Linux with schedstat")
        })
}

static WALL: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        on_cpu_nanos()
    }

    fn end(&self, start: u64) -> u64 {
        on_cpu_nanos().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

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

/// Defines `main`: runs the generic bench function `$bench(c, clock)` once with wall time and
/// once with [`CpuTime`].
macro_rules! main_wall_and_cpu {
    ($bench:ident) => {
        fn main() {
            let mut wall = criterion::Criterion::default().configure_from_args();
            $bench(&mut wall, "wall");
            wall.final_summary();
            let mut cpu =
                criterion::Criterion::default().with_measurement(cpu_time::CpuTime).configure_from_args();
            $bench(&mut cpu, "cpu");
            cpu.final_summary();
        }
    };
}
pub(crate) use main_wall_and_cpu;

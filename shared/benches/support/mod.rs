//! What the benchmarks share: measuring in the thread's CPU time.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// The measuring thread's CPU time instead of the wall clock: "on one core", and steady on a
/// machine that other work shares (a busy machine stretches wall time, not this thread's CPU
/// time, apart from what cache sharing costs). Values are nanoseconds, formatted as durations.
pub struct ThreadCpu(pub WallTime);

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

pub fn cpu_time() -> Criterion<ThreadCpu> {
    Criterion::default().with_measurement(ThreadCpu(WallTime))
}

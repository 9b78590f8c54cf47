//! Memory bounds for parallel scoring. Archs are scored in parallel (one per thread), and on
//! large inputs one gradient proxy on one arch can take several GiB (TransNAS-Bench-101 at
//! 224×224: GraSP 7.8 GiB, AZ-NAS 5.4 GiB on one arch), so a 24 GiB machine running two of
//! them at once ran out of memory. The [`MemoryGate`] admits a proxy's evaluation only while
//! the estimated footprints of those in flight fit the memory that was available when the
//! process started:
//! * a proxy (with its settings) not measured yet runs alone — the gate waits until nothing
//!   else is in flight — and its footprint is measured as the process's peak RSS above the
//!   RSS at its start (Linux `VmHWM`, reset through `/proc/self/clear_refs`; freed memory the
//!   allocator keeps, [`keep_freed_memory`], is first given back);
//! * once measured, it runs beside others while the sum of the in-flight estimates (each
//!   footprint × 1.5, for archs larger than the measured one) stays within the budget; a
//!   footprint is the largest seen, and an evaluation whose estimate exceeds the whole budget
//!   runs alone.
//!
//! Where the kernel gives no peak RSS (not Linux) the gate admits everything, as before.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};

/// Peak resident set size since the last reset, in bytes (Linux only).
pub fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident set size, in bytes (Linux only).
pub fn rss() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// Resets the peak RSS to the current RSS (Linux only).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

/// Memory the system can still give, in bytes (`MemAvailable`, Linux only).
fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Makes freed memory stay in the process for reuse (glibc on Linux; elsewhere nothing).
///
/// A gradient pass allocates and frees tensors of tens to hundreds of MiB; glibc serves each
/// such block with a fresh `mmap`, so the kernel zeroes every page again on first touch
/// (`perf`: 11% of VKDNW's time in `clear_page_erms`; on NB101 as much system as user time).
/// Here every block comes from one heap (no `mmap`, one arena) and freed memory is kept for
/// reuse rather than trimmed (measured in README, Speed, "Freed memory kept"). The memory gate
/// gives it back before it measures a proxy ([`MemoryGate::acquire`]), so footprints stay the
/// proxy's own, and whenever the RSS passes its budget after an evaluation
/// ([`MemoryGate::release`]). The binary calls this at start; the Python package leaves its
/// interpreter's allocator alone.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1); // never trim on free
    }
}

/// Gives freed memory the allocator keeps back to the system, so the RSS is what is live
/// (glibc on Linux; elsewhere nothing).
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Safety factor on a measured footprint (larger archs than the measured one).
const MARGIN: f64 = 1.5;
/// Share of the memory available at start the evaluations in flight may take together.
const SHARE: f64 = 0.7;

#[derive(Default)]
struct State {
    /// Estimated bytes of the evaluations in flight.
    reserved: u64,
    running: usize,
    /// A proxy is being measured alone.
    measuring: bool,
    /// Measured footprint per proxy-with-settings.
    footprint: HashMap<String, u64>,
}

/// How the gate reads memory: the process's RSS and peak RSS, and resetting the peak.
#[derive(Clone, Copy)]
pub struct Meter {
    pub rss: fn() -> Option<u64>,
    pub peak: fn() -> Option<u64>,
    pub reset: fn(),
}

/// The kernel's counters (Linux `/proc/self/status`).
pub const PROCESS: Meter = Meter { rss, peak: peak_rss, reset: reset_peak_rss };

/// The process's gate (shared by every engine, so ablation cells and search runs count too).
pub struct MemoryGate {
    budget: Option<u64>,
    meter: Meter,
    state: Mutex<State>,
    changed: Condvar,
}

/// An admitted evaluation; hand it back with [`MemoryGate::release`].
pub struct Permit {
    reserved: u64,
    /// Measuring alone: the RSS at the start.
    measuring_from: Option<u64>,
}

impl MemoryGate {
    /// The process's gate.
    pub fn global() -> &'static MemoryGate {
        static GATE: OnceLock<MemoryGate> = OnceLock::new();
        GATE.get_or_init(|| {
            MemoryGate::with_budget(available().filter(|_| peak_rss().is_some()).map(|a| (a as f64 * SHARE) as u64), PROCESS)
        })
    }

    /// A gate admitting evaluations within `budget` bytes (`None`: everything), measuring
    /// with `meter`.
    pub fn with_budget(budget: Option<u64>, meter: Meter) -> Self {
        Self { budget, meter, state: Mutex::new(State::default()), changed: Condvar::new() }
    }

    /// Waits until evaluation `key` (a proxy with its settings) may run.
    pub fn acquire(&self, key: &str) -> Permit {
        let Some(budget) = self.budget else { return Permit { reserved: 0, measuring_from: None } };
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if !s.measuring {
                match s.footprint.get(key) {
                    Some(&f) => {
                        let need = (f as f64 * MARGIN) as u64;
                        if s.running == 0 || s.reserved + need <= budget {
                            s.reserved += need;
                            s.running += 1;
                            return Permit { reserved: need, measuring_from: None };
                        }
                    }
                    None if s.running == 0 => {
                        s.measuring = true;
                        s.running = 1;
                        return_freed_memory();
                        (self.meter.reset)();
                        return Permit { reserved: 0, measuring_from: Some((self.meter.rss)().unwrap_or(0)) };
                    }
                    None => {}
                }
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Ends an evaluation (whatever its outcome); a measuring one records its footprint.
    pub fn release(&self, key: &str, permit: Permit) {
        let Some(budget) = self.budget else { return };
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(start) = permit.measuring_from {
            let used = (self.meter.peak)().unwrap_or(start).saturating_sub(start);
            let f = s.footprint.entry(key.to_string()).or_insert(0);
            *f = (*f).max(used);
            s.measuring = false;
        }
        s.reserved = s.reserved.saturating_sub(permit.reserved);
        s.running = s.running.saturating_sub(1);
        drop(s);
        // Freed memory the allocator keeps is reused, but fragments can make the heap grow past
        // what is live: past the budget it goes back to the system.
        if (self.meter.rss)().is_some_and(|rss| rss > budget) {
            return_freed_memory();
        }
        self.changed.notify_all();
    }

    /// The measured footprint of `key`, in bytes.
    #[cfg(test)]
    pub fn footprint(&self, key: &str) -> Option<u64> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).footprint.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;

    // A simulated process memory (the real one is shared with the other tests running).
    static RSS: AtomicU64 = AtomicU64::new(100 << 20);
    static PEAK: AtomicU64 = AtomicU64::new(100 << 20);
    const FAKE: Meter = Meter {
        rss: || Some(RSS.load(Ordering::SeqCst)),
        peak: || Some(PEAK.load(Ordering::SeqCst)),
        reset: || PEAK.store(RSS.load(Ordering::SeqCst), Ordering::SeqCst),
    };

    /// An unmeasured evaluation runs alone and is measured; a measured one runs beside others
    /// only within the budget.
    #[test]
    fn the_gate_measures_alone_then_admits_within_budget() {
        let gate = Arc::new(MemoryGate::with_budget(Some(64 << 20), FAKE));
        let (in_flight, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let work = |gate: Arc<MemoryGate>, in_flight: Arc<AtomicUsize>, most: Arc<AtomicUsize>, bytes: u64| {
            std::thread::spawn(move || {
                let permit = gate.acquire("big");
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let rss = RSS.fetch_add(bytes, Ordering::SeqCst) + bytes;
                PEAK.fetch_max(rss, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                RSS.fetch_sub(bytes, Ordering::SeqCst);
                in_flight.fetch_sub(1, Ordering::SeqCst);
                gate.release("big", permit);
            })
        };
        // 40 MiB each: measured alone first, then one at a time (2 × 40 × 1.5 > 64).
        let threads: Vec<_> = (0..4).map(|_| work(gate.clone(), in_flight.clone(), most.clone(), 40 << 20)).collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(gate.footprint("big"), Some(40 << 20));
        assert_eq!(most.load(Ordering::SeqCst), 1, "two 40 MiB evaluations never ran together in 64 MiB");
        // 10 MiB each: once measured (alone), the others run together (3 × 15 ≤ 64).
        let small = Arc::new(MemoryGate::with_budget(Some(64 << 20), FAKE));
        most.store(0, Ordering::SeqCst);
        work(small.clone(), in_flight.clone(), most.clone(), 10 << 20).join().unwrap();
        let threads: Vec<_> = (0..3).map(|_| work(small.clone(), in_flight.clone(), most.clone(), 10 << 20)).collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(small.footprint("big"), Some(10 << 20));
        assert!(most.load(Ordering::SeqCst) >= 2, "measured small evaluations run side by side");
    }

    /// The kernel's counters, where there are some, are read.
    #[test]
    fn the_process_meter_reads_linux_counters() {
        if peak_rss().is_none() {
            use std::io::Write;
            let _ =
                writeln!(std::io::stderr(), "SKIPPED the_process_meter_reads_linux_counters: no /proc/self/status (Linux only)");
            return;
        }
        assert!(rss().unwrap() > 0 && peak_rss().unwrap() >= rss().unwrap() / 2);
    }
}

//! The machine's own limits, as printed (one JSON object) by `bench/src/bin/limits.rs`.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::report::Threads;

/// Everything `limits` measures or detects about the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU model from `/proc/cpuinfo`.
    pub cpu: String,
    /// Threads used for the all-cores figures.
    pub threads: usize,
    /// Kernel path `kernels::Isa::selected()` picked (`avx512`, `avx2` or `portable`).
    pub isa: String,
    /// Whether the figures come from the shortened `--quick` measurement.
    #[serde(default)]
    pub quick: bool,
    /// FMA peak per element type, GFLOP/s.
    pub fma_peak_gflops: FmaPeaks,
    /// STREAM-add bandwidth (3 streams counted), GB/s.
    pub bandwidth_gbs: PerThreads,
    /// Data-cache sizes in bytes.
    pub caches: Caches,
}

/// FMA peaks of both element types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FmaPeaks {
    /// Single precision.
    pub f32: PerThreads,
    /// Double precision.
    pub f64: PerThreads,
}

/// One figure measured on one thread and on all threads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerThreads {
    /// One thread.
    #[serde(rename = "1")]
    pub one: f64,
    /// All threads at once.
    pub all: f64,
    /// The instruction set that reached the figure, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa: Option<String>,
}

/// Data-cache sizes, bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Caches {
    /// Level-1 data cache of one core.
    pub l1d: u64,
    /// Level-2 cache of one core.
    pub l2: u64,
    /// Level-3 cache, shared.
    pub l3: u64,
}

impl Limits {
    /// Parses the JSON object the `limits` binary prints.
    pub fn parse(json: &str) -> Result<Limits> {
        serde_json::from_str(json.trim()).map_err(|e| format!("cannot parse limits output: {e}").into())
    }

    /// FMA peak in GFLOP/s for element type `dtype` (`"f32"` or `"f64"`) and a thread
    /// setting; `None` for other element types.
    pub fn fma_peak(&self, dtype: &str, threads: Threads) -> Option<f64> {
        let peak = match dtype {
            "f32" => &self.fma_peak_gflops.f32,
            "f64" => &self.fma_peak_gflops.f64,
            _ => return None,
        };
        Some(match threads {
            Threads::One => peak.one,
            Threads::All => peak.all,
        })
    }

    /// Memory bandwidth (STREAM add, 3 streams counted) in GB/s for a thread setting.
    pub fn bandwidth(&self, threads: Threads) -> f64 {
        match threads {
            Threads::One => self.bandwidth_gbs.one,
            Threads::All => self.bandwidth_gbs.all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture is a real `limits` output of the dev box (AMD Zen 5, 2 cores).
    fn fixture() -> Limits {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/limits.json");
        Limits::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn parses_limits_output() {
        let l = fixture();
        assert_eq!(l.threads, 2);
        assert_eq!(l.isa, "avx512");
        assert_eq!(l.caches.l2, 1 << 20);
        assert_eq!(l.fma_peak_gflops.f32.isa.as_deref(), Some("avx512"));
        assert_eq!(l.bandwidth_gbs.one, 39.32);
    }

    #[test]
    fn peak_by_type_and_threads() {
        let l = fixture();
        // Values copied from the fixture: f32 {"1": 271.28, "all": 294.74},
        // f64 {"1": 135.2, "all": 271.11}.
        assert_eq!(l.fma_peak("f32", Threads::One), Some(271.28));
        assert_eq!(l.fma_peak("f32", Threads::All), Some(294.74));
        assert_eq!(l.fma_peak("f64", Threads::All), Some(271.11));
        assert_eq!(l.fma_peak("c64", Threads::One), None);
    }

    #[test]
    fn bandwidth_by_threads() {
        // The fixture's {"1": 39.32, "all": 46.88}.
        let l = fixture();
        assert_eq!(l.bandwidth(Threads::One), 39.32);
        assert_eq!(l.bandwidth(Threads::All), 46.88);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Limits::parse("limits: f32 FMA peak").is_err());
    }
}

//! Cache-size detection, used to derive the GEMM block sizes.
//!
//! Linux exposes the data-cache hierarchy under `/sys/devices/system/cpu/cpu0/cache`;
//! elsewhere (or if parsing fails) conservative fallbacks are used: 32 KiB L1d,
//! 512 KiB L2 and 4 MiB L3, smaller than any AVX2-era x86 server core has.

use std::sync::OnceLock;

/// Per-core data-cache sizes in bytes (the L3 figure is the whole shared cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSizes {
    /// Level-1 data cache of one core.
    pub l1d: usize,
    /// Level-2 cache of one core.
    pub l2: usize,
    /// Level-3 cache, shared.
    pub l3: usize,
}

impl CacheSizes {
    /// Fallbacks used when detection fails.
    pub const FALLBACK: CacheSizes = CacheSizes { l1d: 32 << 10, l2: 512 << 10, l3: 4 << 20 };

    /// The host's cache sizes, detected once and cached.
    ///
    /// ```
    /// let c = kernels::CacheSizes::detected();
    /// assert!(c.l1d >= 16 << 10 && c.l2 >= c.l1d);
    /// ```
    pub fn detected() -> CacheSizes {
        static DETECTED: OnceLock<CacheSizes> = OnceLock::new();
        *DETECTED.get_or_init(|| detect().unwrap_or(CacheSizes::FALLBACK))
    }
}

fn detect() -> Option<CacheSizes> {
    let mut sizes = CacheSizes::FALLBACK;
    let mut found = [false; 3];
    for index in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let Some(level) = read("level") else { break };
        let kind = read("type")?;
        if kind.trim() == "Instruction" {
            continue;
        }
        let bytes = parse_size(read("size")?.trim())?;
        match level.trim() {
            "1" => (sizes.l1d, found[0]) = (bytes, true),
            "2" => (sizes.l2, found[1]) = (bytes, true),
            "3" => (sizes.l3, found[2]) = (bytes, true),
            _ => {}
        }
    }
    // A host without an L3 (or a VM hiding it) keeps the fallback, capped by nothing:
    // the L3 figure only bounds the B panel, where too small is merely slower.
    (found[0] && found[1] && sizes.l1d >= 8 << 10 && sizes.l2 > sizes.l1d).then_some(sizes)
}

/// Parses sysfs sizes such as `48K`, `1024K`, `32M` or a plain byte count.
fn parse_size(s: &str) -> Option<usize> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_size("48K"), Some(48 * 1024));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(parse_size(""), None);
    }
}

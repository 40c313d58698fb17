//! Instruction-set detection and the one-time choice of kernel path.
//!
//! The hot loops are `core::arch` intrinsics inside `#[target_feature]` functions, so a
//! plain `cargo build --release` (baseline x86-64) still runs AVX-512 or AVX2+FMA code on
//! a host that has it. The choice is made once per process and cached; the environment
//! variable [`ISA_ENV`] forces a path (for tests and comparisons).

use std::fmt;
use std::sync::OnceLock;

/// Environment variable that forces a kernel path: `avx512`, `avx2` or `portable`.
///
/// Read once, on the first call that needs the ISA. Forcing a path the host cannot run
/// panics with a message naming the variable and the missing feature.
///
/// ```
/// // `NUMCORE_ISA=portable cargo test` runs everything on the portable path.
/// assert_eq!(kernels::ISA_ENV, "NUMCORE_ISA");
/// assert_eq!("AVX2".parse::<kernels::Isa>(), Ok(kernels::Isa::Avx2Fma));
/// ```
pub const ISA_ENV: &str = "NUMCORE_ISA";

/// A kernel path: which instruction set the micro-kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// `wide`-based code compiled for the baseline target; runs everywhere.
    Portable,
    /// AVX2 + FMA intrinsics (x86-64 only).
    Avx2Fma,
    /// AVX-512F intrinsics, with AVX-512VL masks on half-width vectors (x86-64 only;
    /// every AVX-512 CPU since Skylake-SP and Zen 4 has both).
    Avx512,
}

impl Isa {
    /// Every path, from the most portable to the widest.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

    /// Whether this host can run the path (checked at run time).
    ///
    /// ```
    /// use kernels::Isa;
    /// assert!(Isa::Portable.is_available());
    /// ```
    #[inline]
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// All paths this host can run, portable first.
    ///
    /// ```
    /// assert!(kernels::Isa::available().contains(&kernels::Isa::Portable));
    /// ```
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The widest path the host runs, unless [`ISA_ENV`] forces another. Cached.
    ///
    /// # Panics
    /// If [`ISA_ENV`] names an unknown path or one this host cannot run.
    ///
    /// ```
    /// let isa = kernels::Isa::selected();
    /// assert!(isa.is_available());
    /// ```
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Isa> = OnceLock::new();
        *SELECTED.get_or_init(|| match std::env::var(ISA_ENV) {
            Ok(name) => {
                let isa: Isa = name.parse().unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    isa.is_available(),
                    "{ISA_ENV}={name} forces the {isa} path, but this host does not support it \
                     (available: {:?})",
                    Isa::available()
                );
                isa
            }
            Err(_) => *Isa::available().last().expect("portable is always available"),
        })
    }

    /// Short lowercase name, as accepted by [`ISA_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Isa {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Isa::ALL.into_iter().find(|i| i.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            format!("unknown kernel path {s:?} in {ISA_ENV}: expected avx512, avx2 or portable")
        })
    }
}

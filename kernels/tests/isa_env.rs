//! `NUMCORE_ISA` forces the kernel path: checked in child processes, because the choice is
//! made once per process.
#![cfg(not(miri))] // spawns child processes, which Miri cannot

use kernels::{ISA_ENV, Isa, MatMut, MatRef, Par};
use std::process::Command;

/// Marks the child runs of this test binary.
const CHILD: &str = "NUMCORE_ISA_TEST_CHILD";

/// Runs the child check of this binary with `NUMCORE_ISA=value`; returns (success, stderr).
fn run_child(value: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reports_selected_isa", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(ISA_ENV, value)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// In a child run: the selected path is the forced one, and a GEMM on it is right.
#[test]
fn child_reports_selected_isa() {
    let Ok(forced) = std::env::var(ISA_ENV) else { return };
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let isa = Isa::selected();
    assert_eq!(isa.name(), forced.trim().to_ascii_lowercase());
    // [[1, 2], [3, 4]] · [[1, 1], [1, 1]] = [[3, 3], [7, 7]].
    let (a, b, mut c) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32; 4], [0.0f32; 4]);
    kernels::gemm(
        1.0,
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::row_major(&mut c, 2, 2),
        Par::Seq,
    );
    assert_eq!(c, [3.0, 3.0, 7.0, 7.0]);
    println!("selected {isa}");
}

#[test]
fn env_var_forces_every_available_path() {
    for isa in Isa::available() {
        let (ok, out) = run_child(isa.name());
        assert!(ok && out.contains(&format!("selected {isa}")), "forcing {isa} failed:\n{out}");
    }
}

#[test]
fn env_var_rejects_unknown_or_unsupported_paths() {
    let (ok, out) = run_child("sse9");
    assert!(!ok && out.contains("unknown kernel path \"sse9\""), "{out}");
    if let Some(missing) = Isa::ALL.into_iter().find(|i| !i.is_available()) {
        let (ok, out) = run_child(missing.name());
        assert!(!ok && out.contains("does not support it"), "{out}");
    }
}

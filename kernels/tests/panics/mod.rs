//! Panic-message helpers shared by the bad-input suites of kernels, autodiff and verify
//! (the other crates include this file by path).
#![allow(dead_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message of the panic `f` raises (it must raise one). Unwind safety is asserted: a
/// refused call must leave its arguments untouched, which the tests check where it matters.
#[track_caller]
pub fn panic_msg<R>(f: impl FnOnce() -> R) -> String {
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("the call should have panicked"),
        Err(e) => e,
    };
    if let Some(s) = err.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = err.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        String::from("<a panic without a message>")
    }
}

/// Asserts that `msg` contains every fragment.
#[track_caller]
pub fn has_all(msg: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
    }
}

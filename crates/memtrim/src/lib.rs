//! `trim()`: give freed heap pages back to the kernel (glibc's `malloc_trim(0)`), and
//! `set_trim_threshold()`: how much free memory each heap may keep at its top before
//! `free` gives it back on its own (glibc's `mallopt(M_TRIM_THRESHOLD, ..)`).
//!
//! glibc returns to the kernel only the free top of each heap; blocks freed below live
//! ones stay resident until reused. `malloc_trim(0)` walks every arena and releases whole
//! free pages with `madvise`. It walks and locks each arena in turn, so call it from a
//! thread that may block, after a large release.
//!
//! Soundness: each call takes a byte count, dereferences nothing of the caller's, and
//! glibc serialises it with every other allocator call, so there is no precondition for
//! the caller to uphold. Off glibc (musl, other systems) `trim` does nothing.

/// Returns whether glibc gave any memory back (always false off glibc).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() -> bool {
    // SAFETY: see the crate comment: no pointer arguments, no caller-side invariant.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Returns whether glibc gave any memory back (always false off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

/// Lets every heap keep up to `bytes` of free memory at its top instead of returning it to
/// the kernel at each `free`. Returns whether glibc took the setting (always false off
/// glibc). Call it before the threads that allocate start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn set_trim_threshold(bytes: usize) -> bool {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: see the crate comment: no pointer arguments, no caller-side invariant.
    unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, bytes) == 1 }
}

/// Lets every heap keep up to `bytes` of free memory at its top instead of returning it to
/// the kernel at each `free`. Returns whether glibc took the setting (always false off
/// glibc). Call it before the threads that allocate start.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn set_trim_threshold(_bytes: usize) -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn glibc_takes_the_trim_threshold_and_trims_on_request() {
        assert!(super::set_trim_threshold(32 * 1024 * 1024));
        // A big free block below a live one: only an explicit trim can hand it back.
        let big = vec![1u8; 8 * 1024 * 1024];
        let live = Box::new([2u8; 64]);
        drop(big);
        let _ = super::trim();
        assert_eq!(live[0], 2);
    }
}

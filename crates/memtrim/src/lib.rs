//! `trim()`: give freed heap pages back to the kernel (glibc's `malloc_trim(0)`).
//!
//! glibc returns to the kernel only the free top of each heap; blocks freed below live
//! ones stay resident until reused. `malloc_trim(0)` walks every arena and releases whole
//! free pages with `madvise`. It walks and locks each arena in turn, so call it from a
//! thread that may block, after a large release.
//!
//! Soundness: the call takes a byte count, dereferences nothing of the caller's, and
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

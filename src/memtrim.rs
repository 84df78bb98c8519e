//! Giving freed memory back to the system after a big teardown.
//!
//! glibc's malloc keeps freed small blocks in its arenas and returns to the kernel only
//! the free top of each heap; blocks freed below live ones stay resident. A client with
//! 500,000 subscriptions that leaves frees hundreds of thousands of small blocks (channel
//! names, table entries) scattered among live ones, and respub kept 56-86% of that growth
//! for good, where redis-server (jemalloc) returns to its baseline within seconds (issue
//! 11's finding, `tests/exit_paths.rs`). `malloc_trim(0)` walks every arena and hands
//! whole free pages back with `madvise`, which is what brings the RSS down.
//!
//! Why not another allocator: jemalloc with its background purge thread and mimalloc both
//! returned the memory, but jemalloc kept 105 MiB after the fan-out bench where glibc
//! keeps 7 MiB, and mimalloc cost 930 bytes more per idle connection (measured in an
//! earlier session).
//!
//! The call walks and locks every arena, so it runs on a blocking thread, never on a
//! runtime worker, and only after a teardown big enough to be worth it
//! (`TRIM_AFTER_SUBSCRIPTIONS`), at most one at a time.
//!
//! # Keeping freed memory for reuse (`keep_freed_memory`)
//!
//! By default glibc gives the free top of a heap back to the kernel as soon as it passes
//! 128 KiB (`madvise`), so a subscriber's outbox chunks, freed after each write, are
//! faulted in again (page fault + zeroing) by the next delivery. With 4 KiB payloads to
//! 20 subscribers that was a third of respub's CPU (perf: `clear_page_erms`,
//! `exc_page_fault` under `memmove`, `madvise` under `free`), and respub delivered 0.37x
//! redis-server's messages/s. Keeping up to `KEEP_FREED_BYTES` per heap:
//! `respub-bench compare --scenarios curve-payload-4096,fanout-100` against the same
//! build without it gave 1.47x and 1.10x. Memory stays bounded: at most that much free
//! per heap (one per busy thread), and `trim_soon` still hands everything back after a
//! big teardown. jemalloc (which Redis uses) gets the same effect by purging freed pages
//! after a delay.
//!
//! The foreign call itself lives in `crates/memtrim`, so this crate stays
//! `unsafe_code = "forbid"`; that crate says why the call is sound.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Free bytes each heap keeps at its top for reuse (see the module comment).
pub const KEEP_FREED_BYTES: usize = 32 * 1024 * 1024;

/// Sets glibc's trim threshold to `KEEP_FREED_BYTES` (no-op off glibc). Call it before
/// the runtime starts, so every thread's heap is created with it.
pub fn keep_freed_memory() {
    let set = memtrim::set_trim_threshold(KEEP_FREED_BYTES);
    tracing::debug!(set, bytes = KEEP_FREED_BYTES, "malloc trim threshold");
}

/// Subscriptions a single teardown must have removed for a trim to follow.
pub const TRIM_AFTER_SUBSCRIPTIONS: usize = 65_536;

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Returns freed heap pages to the kernel, on a blocking thread (no-op off glibc). Must
/// be called inside the tokio runtime.
pub fn trim_soon() {
    if RUNNING.swap(true, Relaxed) {
        return;
    }
    tokio::task::spawn_blocking(|| {
        trim();
        RUNNING.store(false, Relaxed);
    });
}

fn trim() {
    let released = memtrim::trim();
    tracing::debug!(released, "returned freed heap pages to the kernel");
}

//! Giving freed heap memory back to the kernel.
//!
//! A long-lived process that briefly needs a lot of heap (runsv reading
//! every sibling of its scan directory) keeps those pages dirty after
//! freeing them: glibc only shrinks the heap from its top, and only past a
//! threshold. [`release_free`] hands every free page back, so an idle
//! process costs what it holds, not what it once held.

/// Returns free heap pages to the kernel (`malloc_trim(0)`); nothing that
/// is allocated moves. A no-op where the C library has no `malloc_trim`.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only rearranges the allocator's free lists under
    // its own lock; it takes no pointers and frees nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn freed_memory_can_be_released_and_the_heap_still_works() {
        let big: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 4096]).collect();
        drop(big);
        super::release_free();
        let v = vec![7u8; 4096];
        assert_eq!(v.iter().map(|&b| b as usize).sum::<usize>(), 7 * 4096);
    }
}

//! What plugin memories may take: each instance up to its world's limit, and all the
//! instances alive at once together up to the server's budget
//! (`--plugin-memory-total-mb`). The budget counts the memory instances really grow to,
//! not the limits they might reach: a hundred calls of a few MiB each run, while a call
//! that would push the total past the budget is stopped (as busy: the memory comes back
//! when other calls end).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's budget for the linear memory of all plugin instances at once.
#[derive(Debug)]
pub struct MemoryBudget {
    total: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(total: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget { total, used: AtomicUsize::new(0) })
    }

    /// Bytes taken by the instances alive now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| used.checked_add(bytes).filter(|&after| after <= self.total))
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One store's limiter: its instance's limit, and its share of the budget, given back
/// when the store is dropped.
pub struct Limiter {
    per_instance: usize,
    budget: Arc<MemoryBudget>,
    taken: usize,
    /// A growth was refused because the budget, not the instance's limit, was reached.
    pub(crate) budget_exhausted: bool,
}

/// How many instances a store may hold (a component is a few core instances).
const INSTANCES_PER_STORE: usize = 32;

impl Limiter {
    pub fn new(per_instance: usize, budget: Arc<MemoryBudget>) -> Limiter {
        Limiter { per_instance, budget, taken: 0, budget_exhausted: false }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // An error, not a refusal: the guest traps, and the runtime reports the limit.
        if desired > self.per_instance {
            return Err(wasmtime::Error::msg(format!("forcing trap when growing memory to {desired} bytes: over the instance's memory size")));
        }
        let more = desired.saturating_sub(current);
        if !self.budget.take(more) {
            self.budget_exhausted = true;
            return Err(wasmtime::Error::msg("forcing trap when growing memory: the plugins running now use the server's whole plugin memory budget"));
        }
        self.taken += more;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }

    fn instances(&self) -> usize {
        INSTANCES_PER_STORE
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.budget.give_back(self.taken);
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::ResourceLimiter;

    use super::*;

    #[test]
    fn the_budget_counts_what_instances_really_take_and_gets_it_back() {
        let budget = MemoryBudget::new(10 << 20);
        let mut a = Limiter::new(8 << 20, budget.clone());
        let mut b = Limiter::new(8 << 20, budget.clone());
        assert!(a.memory_growing(0, 6 << 20, None).unwrap());
        assert!(b.memory_growing(0, 3 << 20, None).unwrap());
        assert!(b.memory_growing(3 << 20, 5 << 20, None).is_err(), "6 + 5 MiB is over the 10 MiB budget");
        assert!(b.budget_exhausted);
        assert!(a.memory_growing(6 << 20, 9 << 20, None).is_err(), "over the instance's 8 MiB");
        assert!(!a.budget_exhausted, "that was the instance's limit, not the budget");
        assert_eq!(budget.used(), 9 << 20);
        drop(a);
        assert_eq!(budget.used(), 3 << 20, "an instance's memory comes back with it");
        assert!(b.memory_growing(3 << 20, 8 << 20, None).unwrap());
    }
}

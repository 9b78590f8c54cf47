//! Intermediate results shared between proxies scoring the same architecture (reg-SWAP
//! reuses SWAP's patterns; later, jacov and epe_nas one Jacobian), computed once.

use anyhow::Result;
use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;

/// Per-architecture memo, keyed by a string that includes the producing settings.
#[derive(Default)]
pub struct Memo {
    values: Mutex<HashMap<String, Box<dyn Any + Send>>>,
}

impl Memo {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`, computing and storing it on first use.
    pub fn get_or_insert_with<T: Clone + Send + 'static>(&self, key: &str, compute: impl FnOnce() -> Result<T>) -> Result<T> {
        if let Some(v) = self.lock().get(key).and_then(|v| v.downcast_ref::<T>()) {
            return Ok(v.clone());
        }
        let value = compute()?;
        self.lock().insert(key.to_string(), Box::new(value.clone()));
        Ok(value)
    }

    /// The value under `key`, if there is one of type `T`.
    pub fn get<T: Clone + Send + 'static>(&self, key: &str) -> Option<T> {
        self.lock().get(key).and_then(|v| v.downcast_ref::<T>()).cloned()
    }

    /// Stores `value` under `key` (replacing what was there).
    pub fn insert<T: Send + 'static>(&self, key: &str, value: T) {
        self.lock().insert(key.to_string(), Box::new(value));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Box<dyn Any + Send>>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

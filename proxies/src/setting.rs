//! Proxy settings, declared where they are used: a [`Setting`] is a `const` in the proxy's own
//! file (or, shared by several proxies, in the file of the plumbing they share), listed in its
//! [`crate::ProxyDecl::settings`]. The command line (`--NAME VALUE`, one flag per registered
//! setting, with its help, value name and default), the validation of a typed value and the
//! run's [`ProxySettings`] all come from these declarations; the harness names none of them.
//!
//! A run's values are kept as the text the user typed (validated when set) and parsed where a
//! proxy reads them, so [`ProxySettings`] is a plain map that any new setting fits without a
//! change here. The cache key is the proxy's own [`crate::ProxyDecl::key`] text, which prints
//! the values it reads.
//!
//! Adding one (e.g. to `zen.rs`):
//! ```ignore
//! pub const MIXUP: Setting<f64> = Setting {
//!     name: "zen_mixup",
//!     value: "A",
//!     about: "Zen-NAS: the mixup weight α of the perturbed input (the paper's 0.01)",
//!     default: "0.01",
//!     parse: setting::positive_f64,
//! };
//! // … `settings: &[&MIXUP]` in its ProxyDecl, `MIXUP.get(ctx.settings)` where it is used, and
//! // `MIXUP.get(s)` printed in its `key`.
//! ```

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use swapnas_benchmarks::{Kernels, Loss};

/// One setting of one or more proxies: its name (the flag is `--name` with `_` as `-`), the
/// value's name in `--help`, one paragraph about it, its default as typed on the command line
/// (empty: unset unless given; `about` then says what happens) and how a typed value is read
/// and checked.
pub struct Setting<T: 'static> {
    pub name: &'static str,
    pub value: &'static str,
    pub about: &'static str,
    pub default: &'static str,
    /// Reads and validates a value as typed; the error says what is allowed (the caller
    /// names the flag).
    pub parse: fn(&str) -> Result<T>,
}

impl<T> Setting<T> {
    /// This setting's value in `s`: given, else its default.
    ///
    /// # Panics
    /// If the setting has no default and was not given (use [`Setting::given`] for those),
    /// or if its default does not parse (a declaration error the registry's tests catch).
    pub fn get(&self, s: &ProxySettings) -> T {
        self.given(s).unwrap_or_else(|| (self.parse)(self.default).expect("a setting's default parses (registry test)"))
    }

    /// Its value in `s` if one was given (on the command line or by a command).
    pub fn given(&self, s: &ProxySettings) -> Option<T> {
        // Values are validated by `ProxySettings::set`, so they parse.
        s.values.get(self.name).and_then(|text| (self.parse)(text).ok())
    }
}

/// A setting with its value type erased: what the command line and the registry need.
pub trait AnySetting: Sync {
    fn name(&self) -> &'static str;
    /// The flag, `--name` with `-` for `_`.
    fn flag(&self) -> String {
        format!("--{}", self.name().replace('_', "-"))
    }
    fn value_name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn default_text(&self) -> &'static str;
    /// Whether `text` is a valid value (the error says what is allowed).
    fn check(&self, text: &str) -> Result<()>;
}

impl<T> AnySetting for Setting<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn value_name(&self) -> &'static str {
        self.value
    }
    fn about(&self) -> &'static str {
        self.about
    }
    fn default_text(&self) -> &'static str {
        self.default
    }
    fn check(&self, text: &str) -> Result<()> {
        (self.parse)(text).map(|_| ())
    }
}

/// Every setting the registered proxies declare, each once, in registry order.
pub fn all() -> Vec<&'static dyn AnySetting> {
    let mut out: Vec<&'static dyn AnySetting> = Vec::new();
    for decl in crate::REGISTRY {
        for &s in decl.settings {
            if !out.iter().any(|o| o.name() == s.name()) {
                out.push(s);
            }
        }
    }
    out
}

/// The registered setting called `name` (`-` or `_`, with or without the leading `--`).
pub fn find(name: &str) -> Option<&'static dyn AnySetting> {
    let name = name.trim().trim_start_matches("--").replace('-', "_");
    all().into_iter().find(|s| s.name() == name)
}

/// One run's proxy settings: the values given (by name, as typed), the task's loss, the
/// kernels of forward-only passes and the space's largest network where a proxy's default
/// depends on it (reg-SWAP's prior).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    values: BTreeMap<&'static str, String>,
    /// The task's loss (part of the loss-gradient proxies' keys).
    pub loss: Loss,
    /// Whose kernels the proxies' forward passes run on where both can (native CPU kernels
    /// or burn's ops; see [`crate::ProxyContext::forward_ctx`]); part of no key, since the
    /// scores agree up to float rounding (`bench` times both for SWAP).
    pub kernels: Kernels,
    /// Parameters of the space's largest network, where the run computed it (a proxy whose
    /// default depends on it says so with `Needs::size_prior`).
    pub largest_params: Option<usize>,
}

impl Default for ProxySettings {
    /// Every setting at its default; cross-entropy, native kernels, no space size.
    fn default() -> Self {
        Self { values: BTreeMap::new(), loss: Loss::CrossEntropy, kernels: Kernels::Native, largest_params: None }
    }
}

impl ProxySettings {
    /// Sets the registered setting `name` to `text`, validated; the error names the flag.
    pub fn set(&mut self, name: &str, text: &str) -> Result<()> {
        let Some(setting) = find(name) else {
            let known: Vec<String> = all().iter().map(|s| s.name().to_string()).collect();
            let hint = crate::closest(name, known.iter().map(String::as_str))
                .map_or(String::new(), |c| format!(" — did you mean `{c}`?"));
            bail!("unknown proxy setting `{name}`{hint}; settings: {}", known.join(", "));
        };
        setting.check(text).with_context(|| format!("{} {text}", setting.flag()))?;
        self.values.insert(setting.name(), text.trim().to_string());
        Ok(())
    }

    /// Unsets `name` (back to its default).
    pub fn unset(&mut self, name: &str) {
        self.values.retain(|k, _| *k != name);
    }

    /// Whether `name` was given.
    pub fn is_given(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The value of setting `name` as text: given, else its default (`None`: neither, or no
    /// such setting).
    pub fn value_text(&self, name: &str) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        find(name).map(|s| s.default_text().to_string()).filter(|d| !d.is_empty())
    }

    /// Whether every registered setting has the same value in both (given or by default), and
    /// the run-wide fields agree.
    pub fn same_values(&self, other: &ProxySettings) -> bool {
        (self.loss, self.kernels, self.largest_params) == (other.loss, other.kernels, other.largest_params)
            && all().iter().all(|s| self.value_text(s.name()) == other.value_text(s.name()))
    }

    /// The given values, `--flag value` each, in name order (for run headers).
    pub fn given_text(&self) -> Vec<String> {
        self.values.iter().map(|(k, v)| format!("--{} {v}", k.replace('_', "-"))).collect()
    }
}

/// A count of at least 1.
pub fn count(text: &str) -> Result<usize> {
    at_least(text, 1)
}

/// A count of at least `min`.
pub fn at_least(text: &str, min: usize) -> Result<usize> {
    let n: usize = text.trim().parse().with_context(|| format!("`{text}` is not a whole number"))?;
    if n < min {
        bail!("must be at least {min}, got {n}");
    }
    Ok(n)
}

/// A positive, finite number.
pub fn positive_f64(text: &str) -> Result<f64> {
    let x: f64 = text.trim().parse().with_context(|| format!("`{text}` is not a number"))?;
    if !(x.is_finite() && x > 0.0) {
        bail!("must be positive, got {x}");
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered setting: a unique name, a flag-safe one, help text, a default that
    /// parses (or none), and one declaration per name (two proxies sharing a setting share
    /// the `const`).
    #[test]
    fn registered_settings_are_well_formed() {
        let all = all();
        assert!(all.len() >= 5, "{}", all.len());
        for s in &all {
            assert!(s.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", s.name());
            assert!(!s.about().is_empty() && !s.value_name().is_empty(), "{}", s.name());
            if !s.default_text().is_empty() {
                s.check(s.default_text()).unwrap_or_else(|e| panic!("{}: default: {e:#}", s.name()));
            }
        }
        for decl in crate::REGISTRY {
            for s in decl.settings {
                let first = all.iter().find(|o| o.name() == s.name()).unwrap();
                assert!(
                    std::ptr::addr_eq(*first as *const dyn AnySetting, *s as *const dyn AnySetting)
                        || (first.about() == s.about() && first.default_text() == s.default_text()),
                    "{}: two different settings named {}",
                    decl.name,
                    s.name()
                );
            }
        }
    }

    /// The settings the registry names for commands (`reproduce --quick`, `ablate`'s default
    /// grid) are registered settings with valid values.
    #[test]
    fn the_registry_names_valid_settings() {
        let mut s = ProxySettings::default();
        for (name, value) in crate::QUICK_SETTINGS {
            s.set(name, value).unwrap();
        }
        for axis in crate::ABLATION_GRID {
            let (name, values) = axis.split_once('=').unwrap();
            for v in values.split(',') {
                s.set(name, v).unwrap();
            }
        }
    }

    #[test]
    fn set_validates_and_names_the_flag() {
        let mut s = ProxySettings::default();
        s.set("repeats", "4").unwrap();
        assert!(s.is_given("repeats"));
        assert_eq!(crate::swap::REPEATS.get(&s), 4);
        let err = format!("{:#}", s.set("repeats", "0").unwrap_err());
        assert!(err.contains("--repeats 0") && err.contains("at least 1"), "{err}");
        let err = format!("{:#}", s.set("repeets", "3").unwrap_err());
        assert!(err.contains("did you mean `repeats`"), "{err}");
        s.unset("repeats");
        assert_eq!(crate::swap::REPEATS.get(&s), 32);
    }
}

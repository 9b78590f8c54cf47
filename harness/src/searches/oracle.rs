//! Queried accuracy as an explicit, budgeted oracle: what a search that "trains" archs (RoBoT,
//! HNAS) may read of the space's table of briefly trained accuracies ([`QueryTable`]), and
//! nothing else. Each distinct arch asked costs one query of the budget and its recorded
//! training seconds; asking again returns the same value for free (the search remembers
//! what it trained). A search given no oracle cannot read any accuracy.

use anyhow::{bail, Result};
use swapnas_benchmarks::space::QueryTable;

/// One run's queries.
pub struct Oracle<'a> {
    table: &'a QueryTable,
    budget: usize,
    /// Archs queried, in order, with their accuracy.
    asked: Vec<(String, f64)>,
    seconds: f64,
    /// Whether every query had its training seconds recorded.
    timed: bool,
}

impl<'a> Oracle<'a> {
    pub fn new(table: &'a QueryTable, budget: usize) -> Self {
        Oracle { table, budget, asked: Vec::new(), seconds: 0.0, timed: true }
    }

    /// Queries left.
    pub fn left(&self) -> usize {
        self.budget - self.asked.len()
    }

    /// Whether `label` was queried already (then asking is free).
    pub fn known(&self, label: &str) -> Option<f64> {
        self.asked.iter().find(|(l, _)| l == label).map(|&(_, a)| a)
    }

    /// The queried accuracy of `label`: one query of the budget the first time.
    pub fn query(&mut self, label: &str) -> Result<f64> {
        if let Some(a) = self.known(label) {
            return Ok(a);
        }
        if self.left() == 0 {
            bail!("the query budget ({}) is spent", self.budget);
        }
        let Some(q) = self.table.entries.get(label) else {
            bail!("arch {label} is not in the table of queried accuracies ({})", self.table.about)
        };
        match q.train_seconds {
            Some(s) => self.seconds += s,
            None => self.timed = false,
        }
        self.asked.push((label.to_string(), q.accuracy));
        Ok(q.accuracy)
    }

    /// Archs queried, in order, with their accuracy.
    pub fn asked(&self) -> &[(String, f64)] {
        &self.asked
    }

    /// The simulated training seconds of the queries (None where the table does not record
    /// them all).
    pub fn train_seconds(&self) -> Option<f64> {
        self.timed.then_some(self.seconds)
    }

    /// The queried arch with the best accuracy (the first on ties) and its accuracy.
    pub fn best(&self) -> Option<(String, f64)> {
        self.asked
            .iter()
            .fold(None, |b: Option<&(String, f64)>, x| match b {
                Some(b) if b.1 >= x.1 => Some(b),
                _ => Some(x),
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swapnas_benchmarks::space::Query;

    #[test]
    fn queries_are_counted_once_and_budgeted() {
        let entries = [("a", 50.0, 10.0), ("b", 70.0, 20.0), ("c", 60.0, 5.0)]
            .iter()
            .map(|&(l, a, s)| (l.to_string(), Query { accuracy: a, train_seconds: Some(s) }))
            .collect();
        let table = QueryTable { about: "test".to_string(), entries, budget: 2 };
        let mut o = Oracle::new(&table, 2);
        assert_eq!(o.query("a").unwrap(), 50.0);
        assert_eq!(o.query("a").unwrap(), 50.0, "asking again is free");
        assert_eq!(o.left(), 1);
        assert_eq!(o.query("b").unwrap(), 70.0);
        assert!(o.query("c").unwrap_err().to_string().contains("budget"));
        assert_eq!(o.best(), Some(("b".to_string(), 70.0)));
        assert_eq!(o.train_seconds(), Some(30.0));
        assert!(o.query("zzz").is_err());
    }
}

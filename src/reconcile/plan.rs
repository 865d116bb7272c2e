//! The diff part of a step: a list of actions, each with the reason it must run, and the
//! checks that found nothing to do, each with the reason it was skipped. Plans are pure
//! values, built from observations, so each rule is unit-tested without a cluster.

use super::journal::Journal;

/// Something a step will do. `command` is what the log shows: it never carries a secret.
pub trait Act {
    fn command(&self) -> String;
}

#[derive(Debug, Clone, PartialEq)]
pub struct Planned<A> {
    pub action: A,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub command: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan<A> {
    pub actions: Vec<Planned<A>>,
    pub skips: Vec<Skip>,
}

impl<A> Default for Plan<A> {
    fn default() -> Self {
        Self { actions: Vec::new(), skips: Vec::new() }
    }
}

impl<A: Act> Plan<A> {
    pub fn act(&mut self, action: A, reason: impl Into<String>) {
        self.actions.push(Planned { action, reason: reason.into() });
    }

    pub fn skip(&mut self, command: impl Into<String>, reason: impl Into<String>) {
        self.skips.push(Skip { command: command.into(), reason: reason.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Writes every skip with its reason, and every planned action with its reason, to the
    /// journal before anything runs.
    pub fn record(&self, journal: &dyn Journal) {
        for s in &self.skips {
            journal.command(&s.command, "skipped", &s.reason);
        }
        for p in &self.actions {
            journal.command(&p.action.command(), "planned", &p.reason);
        }
    }

    /// Each planned action as `{command, reason}` (a dry run's answer).
    pub fn listing(&self) -> Vec<serde_json::Value> {
        self.actions
            .iter()
            .map(|p| serde_json::json!({"command": p.action.command(), "reason": p.reason}))
            .collect()
    }

    /// The step's message: what ran and what was skipped, counted.
    pub fn summary(&self) -> String {
        let skipped = self.skips.len();
        match self.actions.len() {
            0 => format!("nothing to do: {skipped} checks passed ({})", self.skip_reasons()),
            n => format!("{n} action(s) ran, {skipped} skipped"),
        }
    }

    fn skip_reasons(&self) -> String {
        let mut reasons: Vec<&str> = self.skips.iter().map(|s| s.reason.as_str()).collect();
        reasons.truncate(4);
        let more = self.skips.len().saturating_sub(reasons.len());
        let mut text = reasons.join("; ");
        if more > 0 {
            text.push_str(&format!("; and {more} more"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(&'static str);
    impl Act for Echo {
        fn command(&self) -> String {
            self.0.to_string()
        }
    }

    #[test]
    fn summary_counts_actions_and_names_skip_reasons() {
        let mut plan: Plan<Echo> = Plan::default();
        plan.skip("rly config init", "config exists");
        assert!(plan.is_empty());
        assert_eq!(plan.summary(), "nothing to do: 1 checks passed (config exists)");
        plan.act(Echo("rly chains add"), "gwc not configured");
        assert_eq!(plan.summary(), "1 action(s) ran, 1 skipped");
    }
}

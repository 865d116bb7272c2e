//! Step progress for humans. On a terminal one status line is redrawn in place (`\r` and
//! erase-line) and each finished step leaves a line above it; elsewhere (pipes, CI logs)
//! every step change is one plain line, so the output greps and diffs well.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write};

/// A step as the job view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub name: String,
    pub status: String,
    pub message: Option<String>,
}

fn steps(job: &Value) -> Vec<StepView> {
    job["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| StepView {
            name: s["name"].as_str().unwrap_or("?").to_string(),
            status: s["status"].as_str().unwrap_or("?").to_string(),
            message: s["message"].as_str().map(str::to_string),
        })
        .collect()
}

fn mark(status: &str) -> &'static str {
    match status {
        "succeeded" => "ok",
        "skipped" => "skip",
        "failed" => "FAIL",
        "canceled" => "cancel",
        "running" => "..",
        _ => "",
    }
}

/// One finished step as a line: `[2/5] initRelayer ok: restored 3 keys`.
pub fn step_line(index: usize, total: usize, step: &StepView) -> String {
    let mut line = format!("[{}/{total}] {} {}", index + 1, step.name, step.status);
    if let Some(m) = &step.message {
        line.push_str(": ");
        line.push_str(m);
    }
    line
}

/// The redrawn status line of a running job.
pub fn status_line(job: &Value) -> String {
    let all = steps(job);
    let done = job["progress"]["completedSteps"].as_u64().unwrap_or(0);
    match all.iter().position(|s| s.status == "running") {
        Some(i) => {
            let s = &all[i];
            let spinner = ["|", "/", "-", "\\"][(done as usize + i) % 4];
            let msg = s.message.as_deref().map(|m| format!(" — {m}")).unwrap_or_default();
            format!("{spinner} [{}/{}] {} {}{msg}", i + 1, all.len(), s.name, mark(&s.status))
        }
        None => format!(
            "{} {} ({done}/{} steps)",
            job["jobId"].as_str().unwrap_or("?"),
            job["status"].as_str().unwrap_or("?"),
            all.len()
        ),
    }
}

pub struct Progress {
    out: Box<dyn Write + Send>,
    terminal: bool,
    /// Last status printed per step (plain mode) / steps already printed as final (both).
    seen: BTreeMap<String, String>,
    drawn: bool,
}

impl Progress {
    pub fn for_stdout() -> Self {
        let terminal = std::io::stdout().is_terminal();
        Self::new(Box::new(std::io::stdout()), terminal)
    }

    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> Self {
        Self { out, terminal, seen: BTreeMap::new(), drawn: false }
    }

    /// Shows what changed since the last view of the job.
    pub fn update(&mut self, job: &Value) {
        let all = steps(job);
        let total = all.len();
        for (i, step) in all.iter().enumerate() {
            let previous = self.seen.get(&step.name).map(String::as_str);
            if previous == Some(step.status.as_str()) || step.status == "pending" {
                continue;
            }
            let final_ = !matches!(step.status.as_str(), "running" | "pending");
            if self.terminal && !final_ {
                continue; // the status line shows running steps
            }
            self.clear_line();
            let _ = writeln!(self.out, "{}", step_line(i, total, step));
            self.seen.insert(step.name.clone(), step.status.clone());
        }
        if self.terminal {
            let _ = write!(self.out, "\r\x1b[2K{}", status_line(job));
            self.drawn = true;
        }
        let _ = self.out.flush();
    }

    /// Prints the job's outcome (and its error) on its own line.
    pub fn finish(&mut self, job: &Value) {
        self.clear_line();
        let status = job["status"].as_str().unwrap_or("?");
        let _ = writeln!(self.out, "job {} {status}", job["jobId"].as_str().unwrap_or("?"));
        if let Some(error) = job["error"].as_object() {
            let _ = writeln!(
                self.out,
                "error {}: {}",
                error.get("code").and_then(Value::as_str).unwrap_or("?"),
                error.get("message").and_then(Value::as_str).unwrap_or("")
            );
        }
        let _ = self.out.flush();
    }

    fn clear_line(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[2K");
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn job(statuses: &[(&str, &str)], status: &str) -> Value {
        let steps: Vec<Value> =
            statuses.iter().map(|(n, s)| json!({"name": n, "status": s, "message": null})).collect();
        json!({"jobId": "job_1", "status": status, "progress": {"completedSteps": 0}, "steps": steps})
    }

    #[test]
    fn plain_output_has_one_line_per_step_change_and_no_escape_codes() {
        let buf = Buf::default();
        let mut p = Progress::new(Box::new(buf.clone()), false);
        p.update(&job(&[("discover", "running"), ("initRelayer", "pending")], "running"));
        p.update(&job(&[("discover", "running"), ("initRelayer", "pending")], "running"));
        p.update(&job(&[("discover", "succeeded"), ("initRelayer", "skipped")], "succeeded"));
        p.finish(&job(&[], "succeeded"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "[1/2] discover running\n[1/2] discover succeeded\n[2/2] initRelayer skipped\njob job_1 succeeded\n"
        );
    }

    #[test]
    fn a_terminal_redraws_the_running_step_and_keeps_finished_ones() {
        let buf = Buf::default();
        let mut p = Progress::new(Box::new(buf.clone()), true);
        p.update(&job(&[("discover", "running"), ("connectAll", "pending")], "running"));
        p.update(&job(&[("discover", "succeeded"), ("connectAll", "running")], "running"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("\r\x1b[2K| [1/2] discover .."), "{text:?}");
        assert!(text.contains("\r\x1b[2K[1/2] discover succeeded\n"), "finished steps stay: {text:?}");
        assert!(text.ends_with("[2/2] connectAll .."), "{text:?}");
    }
}

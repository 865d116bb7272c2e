//! A job's log: structured lines (time, step, level, command summary, outcome) kept under a
//! byte cap (oldest dropped, with a marker saying how many), rendered as SPEC's text line or
//! as JSON lines, and streamed to followers. Every line is redacted on its way in.

use super::redact::Redactor;
use crate::sync::Locked;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogLine {
    pub time: jiff::Timestamp,
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What ran, e.g. `rly config init` (never carrying a secret: commands are redacted too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// `ok`, `skipped`, `exit 1`, `running`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl LogLine {
    /// `[12:35:10.123Z] step=initRelayer cmd="rly config init" ok`: the time of day with
    /// milliseconds (truncated, like the job's own times, so the two order alike).
    pub fn text(&self) -> String {
        let time = super::model::truncate_to_millis(self.time).to_zoned(jiff::tz::TimeZone::UTC);
        let mut out = format!("[{}Z]", time.strftime("%H:%M:%S%.3f"));
        if self.level != Level::Info {
            out.push_str(&format!(
                " level={}",
                serde_json::to_value(self.level).unwrap_or_default().as_str().unwrap_or("")
            ));
        }
        if let Some(step) = &self.step {
            out.push_str(&format!(" step={step}"));
        }
        if let Some(cmd) = &self.cmd {
            out.push_str(&format!(" cmd={cmd:?}"));
        }
        if let Some(outcome) = &self.outcome {
            out.push_str(&format!(" {outcome}"));
        }
        if let Some(message) = &self.message {
            out.push_str(&format!(" {message}"));
        }
        out
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn size(&self) -> usize {
        self.text().len() + 1
    }
}

struct Inner {
    lines: VecDeque<LogLine>,
    bytes: usize,
    dropped: u64,
    /// The live feed, created for the first follower and dropped when none is left or the
    /// job ends: a retained job keeps no 1024-slot channel (the bench's P8 found ~140 KiB each).
    live: Option<broadcast::Sender<LogLine>>,
    /// The job has ended: no feed is created any more (one made for a reader of a finished
    /// job was never dropped, ~140 KiB per retained job read after its end; bench P8).
    closed: bool,
}

/// Lines a follower may lag behind before it is told lines were skipped.
const FOLLOW_BUFFER: usize = 1024;

/// Cheap to clone; all clones append to one log.
#[derive(Clone)]
pub struct JobLog {
    inner: Arc<Mutex<Inner>>,
    cap_bytes: usize,
    redactor: Redactor,
}

impl JobLog {
    /// The redactor every line passes through; the runner applies it to messages too.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn new(cap_bytes: usize, redactor: Redactor) -> Self {
        let inner = Inner { lines: VecDeque::new(), bytes: 0, dropped: 0, live: None, closed: false };
        Self { inner: Arc::new(Mutex::new(inner)), cap_bytes, redactor }
    }

    /// Appends a line (redacted), dropping the oldest lines beyond the cap.
    pub fn push(&self, mut line: LogLine) {
        let r = &self.redactor;
        line.cmd = line.cmd.map(|c| r.text(&c));
        line.outcome = line.outcome.map(|o| r.text(&o));
        line.message = line.message.map(|m| r.text(&m));
        let mut inner = self.inner.locked();
        inner.bytes += line.size();
        inner.lines.push_back(line.clone());
        while inner.bytes > self.cap_bytes && inner.lines.len() > 1 {
            if let Some(old) = inner.lines.pop_front() {
                inner.bytes -= old.size();
                inner.dropped += 1;
            }
        }
        if let Some(tx) = &inner.live {
            if tx.receiver_count() == 0 {
                inner.live = None;
            } else {
                let _ = tx.send(line);
            }
        }
    }

    /// Ends the live feed (the job finished): followers drain what they have and stop.
    pub fn close(&self) {
        let mut inner = self.inner.locked();
        inner.live = None;
        inner.closed = true;
    }

    /// The retained lines, preceded by a marker line when older ones were dropped, and a
    /// receiver of lines appended after this snapshot (taken under one lock).
    pub fn snapshot_and_follow(&self) -> (Vec<LogLine>, broadcast::Receiver<LogLine>) {
        let mut inner = self.inner.locked();
        let live = if inner.closed {
            // A feed that is already over: its sender is dropped here, so `recv` says Closed.
            broadcast::channel(1).1
        } else {
            inner.live.get_or_insert_with(|| broadcast::channel(FOLLOW_BUFFER).0).subscribe()
        };
        (Self::retained(&inner, self.cap_bytes), live)
    }

    pub fn lines(&self) -> Vec<LogLine> {
        Self::retained(&self.inner.locked(), self.cap_bytes)
    }

    fn retained(inner: &Inner, cap_bytes: usize) -> Vec<LogLine> {
        let mut lines = Vec::with_capacity(inner.lines.len() + 1);
        if inner.dropped > 0 {
            let first = inner.lines.front().map_or_else(jiff::Timestamp::now, |l| l.time);
            lines.push(LogLine {
                time: first,
                level: Level::Warn,
                step: None,
                cmd: None,
                outcome: None,
                message: Some(format!(
                    "log truncated: {} earlier lines dropped (cap {cap_bytes} bytes)",
                    inner.dropped
                )),
            });
        }
        lines.extend(inner.lines.iter().cloned());
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(step: &str, cmd: &str, outcome: &str) -> LogLine {
        LogLine {
            time: "2026-01-23T12:35:10Z".parse().unwrap(),
            level: Level::Info,
            step: Some(step.into()),
            cmd: Some(cmd.into()),
            outcome: Some(outcome.into()),
            message: None,
        }
    }

    #[test]
    fn renders_the_spec_text_line() {
        assert_eq!(
            line("initRelayer", "rly config init", "ok").text(),
            r#"[12:35:10.000Z] step=initRelayer cmd="rly config init" ok"#
        );
    }

    #[test]
    fn the_byte_cap_drops_oldest_lines_and_says_so() {
        let log = JobLog::new(200, Redactor::default());
        for i in 0..20 {
            log.push(line("s", &format!("cmd {i}"), "ok"));
        }
        let lines = log.lines();
        assert!(lines[0].message.as_deref().unwrap().starts_with("log truncated:"), "{:?}", lines[0]);
        assert_eq!(lines.last().unwrap().cmd.as_deref(), Some("cmd 19"));
        let kept: usize = lines[1..].iter().map(|l| l.text().len() + 1).sum();
        assert!(kept <= 200, "kept {kept} bytes");
    }

    #[test]
    fn lines_are_redacted_on_the_way_in() {
        let log = JobLog::new(1 << 20, Redactor::default());
        let words = "abandon ability able about above absent absorb abstract absurd abuse access accident";
        log.push(LogLine {
            message: Some(format!("output: {words}")),
            ..line("s", "rly keys restore", "ok")
        });
        assert!(!log.lines()[0].text().contains("abandon ability"));
    }

    #[test]
    fn reading_a_finished_jobs_log_keeps_no_feed() {
        let log = JobLog::new(1 << 20, Redactor::default());
        log.push(line("s", "cmd", "ok"));
        log.close();
        let (lines, mut live) = log.snapshot_and_follow();
        assert_eq!(lines.len(), 1);
        assert!(matches!(live.try_recv(), Err(broadcast::error::TryRecvError::Closed)));
        assert!(log.inner.locked().live.is_none(), "a reader after the end left a feed on the log");
    }
}

//! The pod's stdout stream — what `kubectl logs` returns: complete lines with the time they
//! were completed, bounded to the newest [`MAX_LOG_LINES`], plus a live feed of new lines.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// How many lines a pod keeps (older ones are dropped, like a rotated container log).
pub const MAX_LOG_LINES: usize = 10_000;
/// A line longer than this is cut into pieces so a writer without newlines can't grow memory.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Live subscribers that fall further behind than this get `RecvError::Lagged`.
const FEED_CAPACITY: usize = 4096;

/// One line of the pod's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub at: jiff::Timestamp,
    /// The line without its `'\n'` (invalid UTF-8 replaced).
    pub text: String,
}

/// The pod's stdout stream. Cheap to clone; clones share the stream.
#[derive(Clone)]
pub struct PodLog {
    inner: Arc<Mutex<Inner>>,
    feed: broadcast::Sender<LogLine>,
}

#[derive(Default)]
struct Inner {
    lines: VecDeque<LogLine>,
    partial: Vec<u8>,
}

impl Default for PodLog {
    fn default() -> Self {
        Self::new()
    }
}

impl PodLog {
    pub fn new() -> Self {
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        Self { inner: Arc::default(), feed }
    }

    /// Appends raw output; complete lines become [`LogLine`]s, a trailing partial line waits
    /// for its `'\n'`.
    pub fn append(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(i);
            inner.partial.extend_from_slice(line);
            self.complete_line(&mut inner);
            rest = tail.get(1..).unwrap_or_default();
        }
        inner.partial.extend_from_slice(rest);
        while inner.partial.len() >= MAX_LINE_BYTES {
            let tail = inner.partial.split_off(MAX_LINE_BYTES);
            self.complete_line(&mut inner);
            inner.partial = tail;
        }
    }

    /// Every retained complete line, oldest first.
    pub fn lines(&self) -> Vec<LogLine> {
        self.lock().lines.iter().cloned().collect()
    }

    /// New complete lines from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.feed.subscribe()
    }

    /// [`lines`](Self::lines) and [`subscribe`](Self::subscribe) taken atomically, so a
    /// follower neither misses nor duplicates a line appended in between.
    pub fn lines_and_subscribe(&self) -> (Vec<LogLine>, broadcast::Receiver<LogLine>) {
        let inner = self.lock();
        (inner.lines.iter().cloned().collect(), self.feed.subscribe())
    }

    fn complete_line(&self, inner: &mut Inner) {
        let text = String::from_utf8_lossy(&std::mem::take(&mut inner.partial)).into_owned();
        let line = LogLine { at: jiff::Timestamp::now(), text };
        if inner.lines.len() >= MAX_LOG_LINES {
            inner.lines.pop_front();
        }
        inner.lines.push_back(line.clone());
        // Sent under the lock so `lines_and_subscribe` sees a consistent cut.
        let _ = self.feed.send(line);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(log: &PodLog) -> Vec<String> {
        log.lines().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn splits_lines_and_keeps_partial() {
        let log = PodLog::new();
        log.append(b"a\nb");
        assert_eq!(texts(&log), ["a"]);
        log.append(b"c\n\nd\n");
        assert_eq!(texts(&log), ["a", "bc", "", "d"]);
    }

    #[test]
    fn bounded() {
        let log = PodLog::new();
        for i in 0..MAX_LOG_LINES + 5 {
            log.append(format!("{i}\n").as_bytes());
        }
        let lines = texts(&log);
        assert_eq!(lines.len(), MAX_LOG_LINES);
        assert_eq!(lines[0], "5");
    }

    #[test]
    fn long_line_is_cut() {
        let log = PodLog::new();
        log.append(&vec![b'x'; MAX_LINE_BYTES * 2 + 3]);
        assert_eq!(log.lines().len(), 2);
    }

    #[tokio::test]
    async fn subscribe_sees_new_lines() {
        let log = PodLog::new();
        log.append(b"old\n");
        let (old, mut rx) = log.lines_and_subscribe();
        assert_eq!(old.len(), 1);
        log.append(b"new\n");
        assert_eq!(rx.recv().await.map(|l| l.text).ok().as_deref(), Some("new"));
    }
}

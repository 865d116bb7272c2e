//! `cryptomeria-bff bench`: the performance figures P1–P14, each measured in one
//! run beside a baseline measured the same way, against embedded testbeds, and printed as one table
//! (optionally as JSON). Like `demo`, the BFF half reaches the testbeds only through their
//! kubeconfig and HTTP (in this process, or as its own `serve` process where its memory is
//! measured); the bench itself drives them through their control handle (block production,
//! request counters, load) and is the only product command that does.
//!
//! One file per figure group: `reconcile` (P1, P2), `status` (P3), `chain_reads` (P4–P6),
//! `broadcast` (P7), `memory` (P8), `scale` (P9), `recreated` (P10), `faults` (P11), `realtime`
//! (P12), `packets` (P13), `upload` (P14); `harness`, `process` (the BFF as a child), `session`
//! and `tus` (gwc upload sessions) and `table`
//! are shared.

mod broadcast;
mod chain_reads;
mod faults;
mod harness;
mod memory;
mod packets;
mod process;
mod realtime;
mod reconcile;
mod recreated;
mod scale;
mod session;
mod status;
pub mod table;
mod tus;
mod txs;
mod upload;

use serde_json::{Map, Value};
use std::path::PathBuf;
use table::Row;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Fewer repetitions, P9 at a quarter of its size (8 data chains, 500 extra pods) and P12 at
    /// 2 data chains.
    #[arg(long)]
    pub quick: bool,
    /// Also write the figures as JSON (keys `p1` … `p14`) to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run only these figures (e.g. `--only p1,p3`); default all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

/// Repetitions of the timed figures (each after an untimed warm-up round).
#[derive(Debug, Clone, Copy)]
pub struct Reps {
    /// Cold bring-ups (P1), each on a fresh testbed per side.
    pub cold: usize,
    /// Repetitions of every other timed measurement.
    pub timed: usize,
    /// `--quick`: P9 also runs at a smaller size (its JSON says which).
    pub quick: bool,
}

impl Reps {
    pub fn of(quick: bool) -> Self {
        if quick { Self { cold: 2, timed: 3, quick } } else { Self { cold: 5, timed: 5, quick } }
    }
}

/// What the figures collect: table rows and the JSON object.
#[derive(Debug, Default)]
pub struct Section {
    pub rows: Vec<Row>,
    pub json: Map<String, Value>,
}

impl Section {
    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn json(&mut self, key: &str, value: Value) {
        self.json.insert(key.to_string(), value);
    }
}

impl BenchArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let reps = Reps::of(self.quick);
        let wanted =
            |fig: &str| self.only.is_empty() || self.only.iter().any(|o| o.eq_ignore_ascii_case(fig));
        let mut section = Section::default();
        let started = std::time::Instant::now();
        if wanted("p8") {
            memory::run(&mut section).await?;
        }
        if wanted("p1") || wanted("p2") {
            reconcile::run(&reps, &mut section).await?;
        }
        if wanted("p10") {
            recreated::run(&reps, &mut section).await?;
        }
        if wanted("p11") {
            faults::run(&reps, &mut section).await?;
        }
        if wanted("p12") {
            realtime::run(&reps, &mut section).await?;
        }
        if wanted("p9") {
            scale::run(&reps, &mut section).await?;
        }
        if wanted("p3") {
            status::run(&reps, &mut section).await?;
        }
        if wanted("p13") {
            packets::run(&reps, &mut section).await?;
        }
        if wanted("p4") || wanted("p5") || wanted("p6") || wanted("p7") {
            chain_reads::run(&reps, &mut section).await?;
        }
        if wanted("p14") {
            upload::run(&reps, &mut section).await?;
        }
        println!(
            "cryptomeria-bff bench{} — median of the timed repetitions; ratio = how many times better the BFF is",
            if self.quick { " --quick" } else { "" }
        );
        // P10 after P9: by number, not by text.
        section.rows.sort_by_key(|r| (r.id.len(), r.id));
        print!("{}", table::render(&section.rows));
        println!("total {:.0?}", started.elapsed());
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_string_pretty(&Value::Object(section.json))? + "\n")?;
        }
        Ok(())
    }
}

//! `cryptomeria-bff bench`: the performance figures P1–P9, each measured in one run beside a
//! baseline measured the same way, against embedded testbeds, and printed as one table
//! (optionally as JSON). Like `demo`, the BFF half reaches the testbeds only through their
//! kubeconfig and HTTP; the bench itself drives them through their control handle (block
//! production, request counters, load) and is the only product command that does.
//!
//! One file per figure group: `reconcile` (P1, P2), `status` (P3), `chain_reads` (P4–P6),
//! `broadcast` (P7), `memory` (P8), `recreated` (P9); `harness` and `table` are shared.

mod broadcast;
mod chain_reads;
mod harness;
mod memory;
mod reconcile;
mod recreated;
mod status;
pub mod table;
mod txs;

use serde_json::{Map, Value};
use std::path::PathBuf;
use table::Row;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Fewer repetitions (same sizes): the whole run in about two minutes.
    #[arg(long)]
    pub quick: bool,
    /// Also write the figures as JSON (keys `p1` … `p9`) to this file.
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
}

impl Reps {
    pub fn of(quick: bool) -> Self {
        if quick { Self { cold: 2, timed: 3 } } else { Self { cold: 5, timed: 5 } }
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
        // P8 first: the process has not yet grown (and kept) heap for the other figures.
        if wanted("p8") {
            memory::run(&mut section).await?;
        }
        if wanted("p1") || wanted("p2") {
            reconcile::run(&reps, &mut section).await?;
        }
        if wanted("p9") {
            recreated::run(&reps, &mut section).await?;
        }
        if wanted("p3") {
            status::run(&reps, &mut section).await?;
        }
        if wanted("p4") || wanted("p5") || wanted("p6") || wanted("p7") {
            chain_reads::run(&reps, &mut section).await?;
        }
        println!(
            "cryptomeria-bff bench{} — median of the timed repetitions; ratio = how many times better the BFF is",
            if self.quick { " --quick" } else { "" }
        );
        section.rows.sort_by_key(|r| r.id);
        print!("{}", table::render(&section.rows));
        println!("total {:.0?}", started.elapsed());
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_string_pretty(&Value::Object(section.json))? + "\n")?;
        }
        Ok(())
    }
}

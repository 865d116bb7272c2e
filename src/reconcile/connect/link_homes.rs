//! Per-path gwc signers, so that links run side by side. Every link signs its gwc
//! transactions, and one rly process signs with one key per chain entry, so links that share
//! gwc's relayer key must run one after another (their account sequences would collide).
//! Each link to be made gets its own rly home, `<home>/links/<chain>`, on the relayer's
//! claim: gwc and the chain configured from the chart's chain files, both relayer keys
//! restored from the mounted mnemonics, and a gwc key `link-<chain>` to which the relayer key
//! grants an unlimited BasicAllowance (`rly chains configure feegrant`), so that rly signs
//! that home's gwc transactions with the link key while the relayer account pays their fees.
//! Observe is one exec over every home; the missing parts are set up by batched execs
//! (`Run::run_batched`, as many as keep each script within an exec request; the grants run
//! one after another: each is a tx signed by the relayer key).

use super::super::init_relayer::{self, InitAction};
use super::super::journal::Journal;
use super::super::plan::{Act, Plan};
use super::super::run::{CommandExited, Run, Topology};
use super::ConnectAction;
use crate::chart::{GWC, RELAYER_KEY, path_name};
use crate::error_code::Failure;
use crate::k8s::script::{self, quote};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The rly home in which `chain`'s link runs.
pub fn home(main: &str, chain: &str) -> String {
    format!("{}/links/{chain}", main.trim_end_matches('/'))
}

/// The gwc key that signs `chain`'s link.
pub fn signer(chain: &str) -> String {
    format!("link-{chain}")
}

/// What one link home holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkHome {
    pub config: bool,
    /// Configured chain ids.
    pub chains: BTreeSet<String>,
    /// Chain ids whose relayer key is restored.
    pub keys: BTreeSet<String>,
    /// The link key's address.
    pub signer: Option<String>,
    /// The height at which rly last verified the link key's grant (`block_last_verified`).
    pub grant_verified: Option<i64>,
    pub path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeAction {
    /// An initRelayer action run in `chain`'s link home.
    Init(String, InitAction),
    Grant(String),
    NewPath(String),
}

impl HomeAction {
    fn chain(&self) -> &str {
        match self {
            Self::Init(c, _) | Self::Grant(c) | Self::NewPath(c) => c,
        }
    }

    fn line(&self, main: &str, release: &str) -> String {
        let h = format!("H={}; ", quote(&home(main, self.chain())));
        match self {
            Self::Init(_, a) => format!("{h}{}", init_relayer::line(a, release)),
            Self::Grant(c) => format!(
                "{h}rly chains configure feegrant basicallowance {GWC} {RELAYER_KEY} --grantees {} --home \"$H\"",
                signer(c)
            ),
            Self::NewPath(c) => format!("{h}{} --home \"$H\"", ConnectAction::NewPath(c.clone()).command()),
        }
    }
}

impl Act for HomeAction {
    fn command(&self) -> String {
        let suffix = format!(" --home {}", home("$RLY_HOME", self.chain()));
        match self {
            Self::Init(_, a) => format!("{}{suffix}", a.command()),
            Self::Grant(c) => format!(
                "rly chains configure feegrant basicallowance {GWC} {RELAYER_KEY} --grantees {}{suffix}",
                signer(c)
            ),
            Self::NewPath(c) => format!("{}{suffix}", ConnectAction::NewPath(c.clone()).command()),
        }
    }
}

/// The observe script: each home's config, relayer keys and link key, in one exec (a loop,
/// so its length does not grow with the chains' number beyond their ids).
pub fn observe_script(main: &str, chains: &[String]) -> String {
    let ids: Vec<String> = chains.iter().map(|c| quote(c)).collect();
    format!(
        "for c in {ids}; do H={links}/\"$c\"; echo \"@@ home $c\"\n\
         if [ -f \"$H/config/config.yaml\" ]; then rly config show --json --home \"$H\" 2>/dev/null\n\
         for id in {GWC} \"$c\"; do echo \"@@ key $c $id\"; rly keys show \"$id\" {RELAYER_KEY} --home \"$H\" 2>/dev/null; done\n\
         echo \"@@ signer $c\"; rly keys show {GWC} \"link-$c\" --home \"$H\" 2>/dev/null; fi; done\nexit 0",
        ids = ids.join(" "),
        links = quote(&format!("{}/links", main.trim_end_matches('/'))),
    )
}

/// Reads the observe script's output.
pub fn parse(output: &str) -> BTreeMap<String, LinkHome> {
    let mut homes: BTreeMap<String, LinkHome> = BTreeMap::new();
    let address =
        |body: &str| Some(body.trim()).filter(|a| !a.is_empty() && !a.contains(' ')).map(str::to_string);
    for s in script::sections(output) {
        match s.name.as_str() {
            "home" => {
                let h = homes.entry(s.arg.clone()).or_default();
                let Ok(cfg) = serde_json::from_str::<Value>(s.body.trim()) else { continue };
                h.config = true;
                for chain in cfg["chains"].as_object().into_iter().flatten().map(|(_, c)| &c["value"]) {
                    let Some(id) = chain["chain-id"].as_str() else { continue };
                    h.chains.insert(id.to_string());
                    let grants = &chain["feegrants"];
                    let mine = grants["grantees"]
                        .as_array()
                        .is_some_and(|g| g.iter().any(|k| k.as_str() == Some(signer(&s.arg).as_str())));
                    if id == GWC && mine {
                        h.grant_verified = grants["block_last_verified"].as_i64().filter(|h| *h > 0);
                    }
                }
                h.path = cfg["paths"].get(path_name(&s.arg)).is_some();
            }
            "key" => {
                let (chain, id) = s.arg.split_once(' ').unwrap_or((&s.arg, ""));
                if address(&s.body).is_some() {
                    homes.entry(chain.to_string()).or_default().keys.insert(id.to_string());
                }
            }
            "signer" => homes.entry(s.arg.clone()).or_default().signer = address(&s.body),
            _ => {}
        }
    }
    homes
}

/// What each link home of `chains` lacks.
pub fn plan(homes: &BTreeMap<String, LinkHome>, chains: &[String]) -> Plan<HomeAction> {
    let mut plan = Plan::default();
    let empty = LinkHome::default();
    for c in chains {
        let h = homes.get(c).unwrap_or(&empty);
        let init = |a: InitAction| HomeAction::Init(c.clone(), a);
        step(
            &mut plan,
            h.config,
            init(InitAction::ConfigInit),
            format!("{c}'s link home has config.yaml"),
            format!("no link home for {c}"),
        );
        for id in [GWC, c.as_str()] {
            step(
                &mut plan,
                h.chains.contains(id),
                init(InitAction::AddChain(id.to_string())),
                format!("{id} configured in {c}'s link home"),
                format!("{id} not in {c}'s link home"),
            );
        }
        for id in [GWC, c.as_str()] {
            step(
                &mut plan,
                h.keys.contains(id),
                init(InitAction::RestoreKey(id.to_string())),
                format!("{id}'s relayer key in {c}'s link home"),
                format!("no {id} relayer key in {c}'s link home"),
            );
        }
        let grant = match (&h.signer, h.grant_verified) {
            (Some(addr), Some(at)) => {
                Ok(format!("{} ({addr}) has the relayer's fee grant, verified at height {at}", signer(c)))
            }
            (None, _) => Err(format!("no gwc key {} for {c}'s link", signer(c))),
            (Some(_), None) => Err(format!("{}'s fee grant is not verified", signer(c))),
        };
        match grant {
            Ok(why) => plan.skip(HomeAction::Grant(c.clone()).command(), why),
            Err(why) => plan.act(HomeAction::Grant(c.clone()), why),
        }
        step(
            &mut plan,
            h.path,
            HomeAction::NewPath(c.clone()),
            format!("{} exists in {c}'s link home", path_name(c)),
            format!("no {} in {c}'s link home", path_name(c)),
        );
    }
    plan
}

/// Skips `action` when `done`, else plans it.
fn step(plan: &mut Plan<HomeAction>, done: bool, action: HomeAction, have: String, lack: String) {
    if done { plan.skip(action.command(), have) } else { plan.act(action, lack) }
}

/// Observes the link homes of `chains` and sets up what they lack.
pub async fn prepare(
    run: &Run,
    journal: &dyn Journal,
    topo: &Topology,
    chains: &[String],
) -> Result<(), Failure> {
    let main = run.settings().rly_home.clone();
    let out = run
        .script(
            journal,
            &topo.relayer_pod,
            &observe_script(&main, chains),
            "observe link homes: rly config show, keys show",
        )
        .await
        .map_err(|e| run.exec_failure(e))?;
    if out.code != 0 {
        let stderr = out.stderr.trim().to_string();
        return Err(
            CommandExited { command: "observing the link homes".into(), code: out.code, stderr }.into()
        );
    }
    let plan = plan(&parse(&out.stdout), chains);
    plan.record(journal);
    if plan.is_empty() {
        return Ok(());
    }
    journal.progress(&format!(
        "setting up {} link home(s): {} rly command(s)",
        chains.len(),
        plan.actions.len()
    ));
    let display = format!("{} rly commands in link homes (batched)", plan.actions.len());
    let line = |a: &HomeAction| a.line(&main, run.release());
    if let Some((command, code, stderr)) =
        run.run_batched(journal, &topo.relayer_pod, "", &plan, line, &display).await?
    {
        return Err(CommandExited { command, code, stderr }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chains() -> Vec<String> {
        vec!["fdsc-0".into()]
    }

    #[test]
    fn an_empty_home_is_set_up_in_order_and_a_complete_one_is_skipped() {
        let plan = plan(&BTreeMap::new(), &chains());
        let acts: Vec<String> = plan.actions.iter().map(|a| a.action.command()).collect();
        assert_eq!(acts.len(), 7, "{acts:#?}");
        assert!(acts[0].starts_with("rly config init"), "{acts:#?}");
        assert!(acts[5].contains("--grantees link-fdsc-0"), "{acts:#?}");
        assert!(acts[6].starts_with("rly paths new gwc fdsc-0 path-gwc-fdsc-0-gw"), "{acts:#?}");
        assert!(acts.iter().all(|a| a.ends_with("--home $RLY_HOME/links/fdsc-0")), "{acts:#?}");

        let out = "@@ home fdsc-0\n\
            {\"chains\":{\"gwc\":{\"value\":{\"chain-id\":\"gwc\",\"feegrants\":{\"granter\":\"relayer\",\"grantees\":[\"link-fdsc-0\"],\"block_last_verified\":12}}},\
            \"fdsc-0\":{\"value\":{\"chain-id\":\"fdsc-0\"}}},\"paths\":{\"path-gwc-fdsc-0-gw\":{}}}\n\
            @@ key fdsc-0 gwc\ncosmos1g\n@@ key fdsc-0 fdsc-0\ncosmos1f\n@@ signer fdsc-0\ncosmos1l\n";
        let homes = parse(out);
        let h = &homes["fdsc-0"];
        assert_eq!((h.grant_verified, h.signer.as_deref(), h.path), (Some(12), Some("cosmos1l"), true));
        let again = super::plan(&homes, &chains());
        assert!(again.is_empty(), "{:?}", again.actions);
        assert_eq!(again.skips.len(), 7);
    }

    #[test]
    fn an_unverified_grant_is_configured_again() {
        let out = "@@ home fdsc-0\n{\"chains\":{\"gwc\":{\"value\":{\"chain-id\":\"gwc\",\"feegrants\":{\"grantees\":[\"link-fdsc-0\"],\"block_last_verified\":0}}}},\"paths\":{}}\n@@ signer fdsc-0\ncosmos1l\n";
        let plan = plan(&parse(out), &chains());
        assert!(plan.actions.iter().any(|a| a.action == HomeAction::Grant("fdsc-0".into())));
    }

    #[test]
    fn the_observe_script_loops_over_the_homes_and_asks_for_each_signer() {
        let chains: Vec<String> = (0..33).map(|i| format!("fdsc-{i}")).collect();
        let script = observe_script("/home/relayer/.relayer", &chains);
        assert!(script.starts_with("for c in 'fdsc-0' 'fdsc-1'"), "{script}");
        assert!(script.contains("H='/home/relayer/.relayer/links'/\"$c\""), "{script}");
        // The script names the link key as `signer` does.
        assert_eq!(signer("$c"), "link-$c");
        assert!(script.contains("\"link-$c\""), "{script}");
        assert!(script.len() < 1024, "{} bytes", script.len());
    }

    #[test]
    fn each_line_sets_its_home_and_reads_mnemonics_in_the_pod() {
        let a = HomeAction::Init("fdsc-1".into(), InitAction::RestoreKey(GWC.into()));
        let line = a.line("/home/relayer/.relayer", "r");
        assert!(line.starts_with("H='/home/relayer/.relayer/links/fdsc-1'; "), "{line}");
        assert!(line.contains("$(cat /etc/mnemonics/gwc.relayer.mnemonic)"), "{line}");
    }
}

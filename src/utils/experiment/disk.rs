//! Disk use of each chain's data directory, as the experiment runner's `getDiskUsage` reads it:
//! `du -sb` of every directory under `<home>/data` in each chain pod, summed per chain.

use crate::chart::chain_home;
use crate::k8s::PodExec;
use std::collections::BTreeMap;

/// Bytes per chain id; a pod that cannot be measured is left out.
pub async fn measure(exec: &PodExec, chain_pods: &[(String, String)]) -> BTreeMap<String, u64> {
    let reads = chain_pods.iter().map(|(chain, pod)| async move {
        let script = format!("du -sb {}/data/*/ 2>/dev/null || true", chain_home(chain));
        let out = exec.script(pod, &script).await.ok()?;
        Some((chain.clone(), sum(&out.stdout)))
    });
    futures::future::join_all(reads).await.into_iter().flatten().collect()
}

/// The sum of `du -sb` lines (`<bytes>\t<path>`).
fn sum(du: &str) -> u64 {
    du.lines().filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok()).sum()
}

/// After minus before, per chain measured both times (may be negative: compaction).
pub fn growth(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, i64> {
    after
        .iter()
        .filter_map(|(chain, a)| before.get(chain).map(|b| (chain.clone(), *a as i64 - *b as i64)))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn du_lines_sum_and_growth_is_per_chain() {
        assert_eq!(super::sum("4096\t/home/gwc/.gwc/data/state.db/\n100 /x/\nnoise\n"), 4196);
        let before = [("a".to_string(), 10), ("b".to_string(), 5)].into();
        let after = [("a".to_string(), 15), ("c".to_string(), 1)].into();
        assert_eq!(super::growth(&before, &after), [("a".to_string(), 5)].into());
    }
}

//! Coin amounts as the SDK prints and parses them (`100uatom`, `1uatom,5stake`), from the
//! protobuf `cosmos.base.v1beta1.Coin` whose amount is a decimal string.

use super::sdk_error::{SdkError, codes};
use cosmrs::proto::cosmos::base::v1beta1::Coin as ProtoCoin;

/// The fee and staking denom of every testbed chain (the chart's genesis uses `uatom`).
pub const DENOM: &str = "uatom";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coin {
    pub denom: String,
    pub amount: u128,
}

impl Coin {
    pub fn new(amount: u128, denom: &str) -> Self {
        Self { denom: denom.to_string(), amount }
    }

    pub fn uatom(amount: u128) -> Self {
        Self::new(amount, DENOM)
    }

    pub fn to_proto(&self) -> ProtoCoin {
        ProtoCoin { denom: self.denom.clone(), amount: self.amount.to_string() }
    }

    /// Parses a protobuf coin; a bad amount is `invalid coins` (code 10).
    pub fn from_proto(c: &ProtoCoin) -> Result<Self, SdkError> {
        let amount = c
            .amount
            .parse::<u128>()
            .map_err(|_| SdkError::wrap(codes::INVALID_COINS, format!("{}{}", c.amount, c.denom)))?;
        if !valid_denom(&c.denom) {
            return Err(SdkError::wrap(codes::INVALID_COINS, format!("invalid denom: {}", c.denom)));
        }
        Ok(Self { denom: c.denom.clone(), amount })
    }
}

impl std::fmt::Display for Coin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.amount, self.denom)
    }
}

/// `sdk.Coins.String()`: comma-joined, sorted by denom, zero amounts dropped.
pub fn coins_to_string(coins: &[Coin]) -> String {
    let mut sorted: Vec<&Coin> = coins.iter().filter(|c| c.amount > 0).collect();
    sorted.sort();
    sorted.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

/// Parses protobuf coins and merges duplicates of one denom.
pub fn coins_from_proto(coins: &[ProtoCoin]) -> Result<Vec<Coin>, SdkError> {
    let mut out: Vec<Coin> = Vec::new();
    for c in coins {
        let coin = Coin::from_proto(c)?;
        match out.iter_mut().find(|o| o.denom == coin.denom) {
            Some(existing) => existing.amount = existing.amount.saturating_add(coin.amount),
            None => out.push(coin),
        }
    }
    out.sort();
    Ok(out)
}

/// The SDK's denom rule (`types/coin.go : reDnmString`): a letter, then 2..127 of
/// letters, digits, `/`, `:`, `.`, `_`, `-`.
fn valid_denom(d: &str) -> bool {
    let mut chars = d.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_ok
        && (3..=128).contains(&d.len())
        && chars.all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_print_sorted_and_parse_back() {
        let coins = coins_from_proto(&[
            Coin::new(5, "stake").to_proto(),
            Coin::uatom(1).to_proto(),
            Coin::uatom(2).to_proto(),
        ])
        .unwrap();
        assert_eq!(coins_to_string(&coins), "5stake,3uatom");
    }

    #[test]
    fn bad_amounts_and_denoms_are_invalid_coins() {
        let bad = ProtoCoin { denom: "uatom".into(), amount: "-1".into() };
        assert_eq!(Coin::from_proto(&bad).unwrap_err().code, 10);
        let bad = ProtoCoin { denom: "1x".into(), amount: "1".into() };
        assert_eq!(Coin::from_proto(&bad).unwrap_err().code, 10);
    }
}

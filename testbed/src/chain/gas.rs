//! The gas model: the SDK's per-byte and per-signature prices, plus flat costs standing in
//! for store reads and writes. Numbers land a one-message `MsgSend` near 50k gas, the order
//! of magnitude a real v0.50 chain reports, so a 200000 gas limit always suffices.

use super::sdk_error::{SdkError, codes};

/// `x/auth/types/params.go : DefaultTxSizeCostPerByte`.
pub const TX_SIZE_COST_PER_BYTE: u64 = 10;
/// `x/auth/types/params.go : DefaultSigVerifyCostSecp256k1`.
pub const SIG_VERIFY_COST_SECP256K1: u64 = 1000;
/// Moving the fee to `fee_collector`: two balance reads and writes at `KVGasConfig` prices.
pub const FEE_DEDUCTION_GAS: u64 = 12_000;
/// Reading a signer's account and writing back its sequence (and public key).
pub const SIGNER_ACCOUNT_GAS: u64 = 8_000;

/// Minimum gas price of every testbed chain: 0.001uatom per gas unit, the `gas-prices` the
/// relayer is configured with (SPEC.md §6), so fees computed the way `rly` does always pass.
pub const MIN_GAS_PRICE_NUMERATOR: u128 = 1;
pub const MIN_GAS_PRICE_DENOMINATOR: u128 = 1000;

/// The fee a gas limit requires: `ceil(min gas price × gas limit)` (`x/auth/ante/validator_tx_fee.go`).
pub fn required_fee(gas_limit: u64) -> u128 {
    (u128::from(gas_limit) * MIN_GAS_PRICE_NUMERATOR).div_ceil(MIN_GAS_PRICE_DENOMINATOR)
}

/// A gas meter; `limit: None` is the infinite meter of simulation.
#[derive(Debug, Clone)]
pub struct GasMeter {
    limit: Option<u64>,
    used: u64,
}

impl GasMeter {
    pub fn new(limit: Option<u64>) -> Self {
        Self { limit, used: 0 }
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    /// Consumes gas; past the limit it fails as `store/types/gas.go` words it.
    pub fn consume(&mut self, amount: u64, location: &str) -> Result<(), SdkError> {
        self.used = self.used.saturating_add(amount);
        match self.limit {
            Some(limit) if self.used > limit => Err(SdkError::wrap(
                codes::OUT_OF_GAS,
                format!("out of gas in location: {location}; gasWanted: {limit}, gasUsed: {}", self.used),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_fee_rounds_up() {
        assert_eq!(required_fee(200_000), 200);
        assert_eq!(required_fee(1), 1);
        assert_eq!(required_fee(0), 0);
    }

    #[test]
    fn running_out_of_gas_names_the_location_and_both_amounts() {
        let mut m = GasMeter::new(Some(100));
        m.consume(60, "txSize").unwrap();
        let err = m.consume(60, "txSize").unwrap_err();
        assert_eq!(err.log, "out of gas in location: txSize; gasWanted: 100, gasUsed: 120: out of gas");
    }
}

//! Cosmos SDK ABCI errors as a client sees them: a codespace, a code and a raw log of the form
//! `<wrapped context>: <description>`. Codes and descriptions are `cosmos/cosmos-sdk @ v0.50 :
//! types/errors/errors.go`; wrap texts are quoted where each constructor is used.

/// The SDK's root codespace (`types/errors/errors.go : RootCodespace`).
pub const SDK_CODESPACE: &str = "sdk";

/// A failed CheckTx/DeliverTx/query, exactly as the SDK reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkError {
    pub codespace: &'static str,
    pub code: u32,
    /// The raw log: the wrap context, then `: ` and the registered description.
    pub log: String,
}

impl std::fmt::Display for SdkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.log)
    }
}

impl std::error::Error for SdkError {}

/// The registered `(code, description)` pairs this simulation can produce.
pub mod codes {
    pub const TX_DECODE: (u32, &str) = (2, "tx parse error");
    pub const UNAUTHORIZED: (u32, &str) = (4, "unauthorized");
    pub const INSUFFICIENT_FUNDS: (u32, &str) = (5, "insufficient funds");
    pub const UNKNOWN_REQUEST: (u32, &str) = (6, "unknown request");
    pub const INVALID_ADDRESS: (u32, &str) = (7, "invalid address");
    pub const INVALID_PUB_KEY: (u32, &str) = (8, "invalid pubkey");
    pub const INVALID_COINS: (u32, &str) = (10, "invalid coins");
    pub const OUT_OF_GAS: (u32, &str) = (11, "out of gas");
    pub const MEMO_TOO_LARGE: (u32, &str) = (12, "memo too large");
    pub const INSUFFICIENT_FEE: (u32, &str) = (13, "insufficient fee");
    pub const NO_SIGNATURES: (u32, &str) = (15, "no signatures supplied");
    pub const INVALID_REQUEST: (u32, &str) = (18, "invalid request");
    pub const TX_IN_MEMPOOL_CACHE: (u32, &str) = (19, "tx already in mempool");
    pub const MEMPOOL_IS_FULL: (u32, &str) = (20, "mempool is full");
    pub const TX_TOO_LARGE: (u32, &str) = (21, "tx too large");
    pub const KEY_NOT_FOUND: (u32, &str) = (22, "key not found");
    pub const WRONG_SEQUENCE: (u32, &str) = (32, "incorrect account sequence");
}

impl SdkError {
    /// `errorsmod.Wrap(err, context)`: `<context>: <description>`.
    pub fn wrap((code, description): (u32, &str), context: impl std::fmt::Display) -> Self {
        Self { codespace: SDK_CODESPACE, code, log: format!("{context}: {description}") }
    }

    /// The bare registered error (no wrap context).
    pub fn bare((code, description): (u32, &str)) -> Self {
        Self { codespace: SDK_CODESPACE, code, log: description.to_string() }
    }

    /// Prefixes another wrap layer: `<context>: <existing log>`.
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.log = format!("{context}: {}", self.log);
        self
    }

    pub fn tx_decode(detail: impl std::fmt::Display) -> Self {
        Self::wrap(codes::TX_DECODE, detail)
    }

    /// `account sequence mismatch, expected 5, got 4` (`x/auth/ante/sigverify.go`).
    pub fn wrong_sequence(expected: u64, got: u64) -> Self {
        Self::wrap(
            codes::WRONG_SEQUENCE,
            format!("account sequence mismatch, expected {expected}, got {got}"),
        )
    }

    /// `spendable balance 10uatom is smaller than 100uatom` (`x/bank/keeper/send.go`).
    pub fn spendable_too_small(spendable: &str, wanted: &str) -> Self {
        Self::wrap(
            codes::INSUFFICIENT_FUNDS,
            format!("spendable balance {spendable} is smaller than {wanted}"),
        )
    }

    /// `insufficient fees; got: 100uatom required: 200uatom` (`x/auth/ante/validator_tx_fee.go`).
    pub fn insufficient_fee(got: &str, required: &str) -> Self {
        Self::wrap(codes::INSUFFICIENT_FEE, format!("insufficient fees; got: {got} required: {required}"))
    }

    /// A query for something absent, as the ABCI-query path words a gRPC NotFound
    /// (`baseapp/grpcrouter.go` → `gRPCErrorToSDKError`).
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        Self::wrap(codes::KEY_NOT_FOUND, format!("rpc error: code = NotFound desc = {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_logs_read_as_the_sdk_writes_them() {
        // Recorded in tendermint-rs `rpc/tests/sei_fixtures` (chain-shapes.md §4).
        assert_eq!(
            SdkError::wrong_sequence(5, 4).log,
            "account sequence mismatch, expected 5, got 4: incorrect account sequence"
        );
        assert_eq!(SdkError::wrong_sequence(5, 4).code, 32);
        // `x/auth/ante/fee.go DeductFees` wraps the bank error once more.
        let fee =
            SdkError::wrap(codes::INSUFFICIENT_FUNDS, SdkError::spendable_too_small("10uatom", "100uatom"));
        assert_eq!(
            fee.log,
            "spendable balance 10uatom is smaller than 100uatom: insufficient funds: insufficient funds"
        );
        assert_eq!(
            SdkError::tx_decode("expected 2 wire type, got 3").log,
            "expected 2 wire type, got 3: tx parse error"
        );
    }
}

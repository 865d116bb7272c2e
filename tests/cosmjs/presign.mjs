// Signs COUNT MsgSends offline (no node contacted) with consecutive sequences, as a load
// client pre-signs a batch, and prints {address, txs: [base64 TxRaw], hashes: [UPPER HEX]}.
// Driven by tests/it/utils.rs.
//
// Input (environment): MNEMONIC, CHAIN_ID, ACCOUNT_NUMBER, SEQUENCE (the first one), COUNT,
// RECIPIENT.
import { sha256 } from "@cosmjs/crypto";
import { toBase64, toHex } from "@cosmjs/encoding";
import { DirectSecp256k1HdWallet, Registry, encodePubkey, makeAuthInfoBytes, makeSignDoc } from "@cosmjs/proto-signing";
import { encodeSecp256k1Pubkey } from "@cosmjs/amino";
import { defaultRegistryTypes } from "@cosmjs/stargate";
import { TxRaw } from "cosmjs-types/cosmos/tx/v1beta1/tx";

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`missing environment variable ${name}`);
  return value;
}

// 200000 gas at the testbed's minimum gas price of 0.001uatom.
const fee = { amount: [{ denom: "uatom", amount: "200" }], gas: "200000" };

const wallet = await DirectSecp256k1HdWallet.fromMnemonic(env("MNEMONIC"), { prefix: "cosmos" });
const [account] = await wallet.getAccounts();
const registry = new Registry(defaultRegistryTypes);
const pubkey = encodePubkey(encodeSecp256k1Pubkey(account.pubkey));
const chainId = env("CHAIN_ID");
const accountNumber = Number(env("ACCOUNT_NUMBER"));
const first = Number(env("SEQUENCE"));
const count = Number(env("COUNT"));

const txs = [];
const hashes = [];
for (let i = 0; i < count; i++) {
  const msg = {
    typeUrl: "/cosmos.bank.v1beta1.MsgSend",
    value: { fromAddress: account.address, toAddress: env("RECIPIENT"), amount: [{ denom: "uatom", amount: "1" }] },
  };
  const bodyBytes = registry.encode({ typeUrl: "/cosmos.tx.v1beta1.TxBody", value: { messages: [msg], memo: `presigned ${i}` } });
  const authInfoBytes = makeAuthInfoBytes([{ pubkey, sequence: first + i }], fee.amount, Number(fee.gas), undefined, undefined);
  const signDoc = makeSignDoc(bodyBytes, authInfoBytes, chainId, accountNumber);
  const { signature } = await wallet.signDirect(account.address, signDoc);
  const bytes = TxRaw.encode(
    TxRaw.fromPartial({ bodyBytes, authInfoBytes, signatures: [Buffer.from(signature.signature, "base64")] }),
  ).finish();
  txs.push(toBase64(bytes));
  hashes.push(toHex(sha256(bytes)).toUpperCase());
}
console.log(JSON.stringify({ address: account.address, txs, hashes }));

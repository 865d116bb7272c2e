// An independent Cosmos client for the testbed chains, driven by tests/it/testbed_chains.rs.
// It derives local-admin from the mnemonic (m/44'/118'/0'/0/0, prefix cosmos), sends a MsgSend
// with signAndBroadcast, then broadcasts a tx with a stale sequence and one signed by the wrong
// key, and prints what the chain answered as one JSON object on stdout.
//
// Input (environment): RPC_URL, ADMIN_MNEMONIC, OTHER_MNEMONIC (the wrong key), RECIPIENT, AMOUNT.
import { encodeSecp256k1Pubkey } from "@cosmjs/amino";
import { sha256 } from "@cosmjs/crypto";
import { fromBase64, toHex } from "@cosmjs/encoding";
import { DirectSecp256k1HdWallet, Registry, encodePubkey, makeAuthInfoBytes, makeSignDoc } from "@cosmjs/proto-signing";
import { BroadcastTxError, SigningStargateClient, defaultRegistryTypes } from "@cosmjs/stargate";
import { TxRaw } from "cosmjs-types/cosmos/tx/v1beta1/tx";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

// 200000 gas at the testbed's minimum gas price of 0.001uatom.
const fee = { amount: [{ denom: "uatom", amount: "200" }], gas: "200000" };

/** The CheckTx code of a broadcast: 0 when accepted, else the BroadcastTxError's. */
async function checkTxCode(broadcast) {
  try {
    await broadcast;
    return { code: 0, codespace: "", log: "" };
  } catch (e) {
    if (e instanceof BroadcastTxError) return { code: e.code, codespace: e.codespace, log: e.log };
    throw e;
  }
}

const admin = await DirectSecp256k1HdWallet.fromMnemonic(env("ADMIN_MNEMONIC"), { prefix: "cosmos" });
const other = await DirectSecp256k1HdWallet.fromMnemonic(env("OTHER_MNEMONIC"), { prefix: "cosmos" });
const [adminAccount] = await admin.getAccounts();
const [otherAccount] = await other.getAccounts();
const client = await SigningStargateClient.connectWithSigner(env("RPC_URL"), admin, {
  broadcastPollIntervalMs: 100,
  broadcastTimeoutMs: 30_000,
});
const chainId = await client.getChainId();
const msg = {
  typeUrl: "/cosmos.bank.v1beta1.MsgSend",
  value: { fromAddress: adminAccount.address, toAddress: env("RECIPIENT"), amount: [{ denom: "uatom", amount: env("AMOUNT") }] },
};

// 1. A MsgSend through signAndBroadcast (waits until the tx is in a block).
const before = await client.getSequence(adminAccount.address);
const sent = await client.signAndBroadcast(adminAccount.address, [msg], fee, "cosmjs send");

// 2. The same account signs again with the sequence the first tx used.
const staleRaw = await client.sign(adminAccount.address, [msg], fee, "stale sequence", {
  accountNumber: before.accountNumber,
  sequence: before.sequence,
  chainId,
});
const staleBytes = TxRaw.encode(staleRaw).finish();
const stale = await checkTxCode(client.broadcastTxSync(staleBytes));

// 3. local-admin's public key and current sequence, but the other key signs.
const now = await client.getSequence(adminAccount.address);
const registry = new Registry(defaultRegistryTypes);
const bodyBytes = registry.encode({ typeUrl: "/cosmos.tx.v1beta1.TxBody", value: { messages: [msg], memo: "wrong key" } });
const pubkey = encodePubkey(encodeSecp256k1Pubkey(adminAccount.pubkey));
const authInfoBytes = makeAuthInfoBytes([{ pubkey, sequence: now.sequence }], fee.amount, Number(fee.gas), undefined, undefined);
const signDoc = makeSignDoc(bodyBytes, authInfoBytes, chainId, now.accountNumber);
const { signature } = await other.signDirect(otherAccount.address, signDoc);
const forged = TxRaw.encode(TxRaw.fromPartial({ bodyBytes, authInfoBytes, signatures: [fromBase64(signature.signature)] })).finish();
const wrongKey = await checkTxCode(client.broadcastTxSync(forged));

client.disconnect();
console.log(
  JSON.stringify({
    chainId,
    sender: adminAccount.address,
    accountNumber: String(before.accountNumber),
    send: {
      code: sent.code,
      height: sent.height,
      transactionHash: sent.transactionHash,
      gasUsed: String(sent.gasUsed),
      gasWanted: String(sent.gasWanted),
      msgResponses: sent.msgResponses.map((r) => r.typeUrl),
    },
    stale: { ...stale, hash: toHex(sha256(staleBytes)).toUpperCase() },
    wrongKey,
  }),
);

import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { fromBase64, toBase64 } from "@cosmjs/encoding";
import { TxRaw } from "cosmjs-types/cosmos/tx/v1beta1/tx";

const bff = process.env.BFF ?? "http://127.0.0.1:8080";
// Default HD path m/44'/118'/0'/0/0; the testbed's addresses start with "cosmos".
const wallet = await DirectSecp256k1HdWallet.fromMnemonic(process.env.MNEMONIC, { prefix: "cosmos" });
const [me] = await wallet.getAccounts();

async function post(path, body) {
  const res = await fetch(`${bff}/api/v1/chains/gwc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (!answer.ok) throw new Error(`${path}: ${answer.error.code}: ${answer.error.message}`);
  return answer.data;
}

const built = await post("tx/build", {
  fromAddress: me.address,
  messages: [{
    typeUrl: "/cosmos.bank.v1beta1.MsgSend",
    value: { fromAddress: me.address, toAddress: process.env.TO ?? me.address, amount: [{ denom: "uatom", amount: "1000" }] },
  }],
  fee: { amount: [{ denom: "uatom", amount: "200" }], gasLimit: "200000" },
  publicKey: toBase64(me.pubkey),
});
const signDoc = {
  bodyBytes: fromBase64(built.bodyBytes),
  authInfoBytes: fromBase64(built.authInfoBytes),
  chainId: built.network,
  accountNumber: BigInt(built.accountNumber),
};
const { signature } = await wallet.signDirect(me.address, signDoc);
const txBytes = TxRaw.encode({
  bodyBytes: signDoc.bodyBytes,
  authInfoBytes: signDoc.authInfoBytes,
  signatures: [fromBase64(signature.signature)],
}).finish();
// "block": the BFF sends it (sync) and answers once it is in a block.
const submittedAt = new Date().toISOString();
const sent = await post("broadcast", { txBytes: toBase64(txBytes), broadcastMode: "block" });
console.log(JSON.stringify({ txhash: sent.txhash, code: sent.code, height: sent.height, submittedAt }));

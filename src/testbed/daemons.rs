//! pid 1 of the chain pods: `<component>d start --home …`. It logs its start-up the way a
//! Cosmos SDK node does and then runs until the pod dies. The node's RPC/REST and its
//! client subcommands are served by the chain simulation.

use super::objects::Chain;
use super::pod::{ProcCtx, Program};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::io::AsyncWriteExt as _;

pub struct ChainDaemon {
    binary: String,
    chain_id: String,
}

impl ChainDaemon {
    pub fn new(chain: &Chain) -> Self {
        Self { binary: chain.binary(), chain_id: chain.instance.clone() }
    }
}

impl Program for ChainDaemon {
    fn run(&self, mut ctx: ProcCtx) -> BoxFuture<'static, i32> {
        let (binary, chain_id) = (self.binary.clone(), self.chain_id.clone());
        async move {
            match ctx.argv.get(1).map(String::as_str) {
                Some("start") => {
                    let lines = [
                        format!("{{\"level\":\"info\",\"module\":\"server\",\"msg\":\"starting node with ABCI CometBFT in-process\",\"chain_id\":\"{chain_id}\"}}"),
                        "{\"level\":\"info\",\"module\":\"p2p\",\"msg\":\"starting Node service\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"rpc-server\",\"msg\":\"serve\",\"addr\":\"tcp://0.0.0.0:26657\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"api-server\",\"msg\":\"starting API server...\",\"address\":\"tcp://0.0.0.0:1317\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"grpc-server\",\"msg\":\"starting gRPC server...\",\"address\":\"0.0.0.0:9090\"}".to_string(),
                    ];
                    for line in lines {
                        let _ = ctx.stdout.write_all(format!("{line}\n").as_bytes()).await;
                    }
                    let _ = ctx.stdout.flush().await;
                    ctx.cancel.cancelled().await;
                    0
                }
                other => {
                    let cmd = other.unwrap_or("");
                    let msg = format!("Error: unknown command \"{cmd}\" for \"{binary}\"\n");
                    let _ = ctx.stderr.write_all(msg.as_bytes()).await;
                    1
                }
            }
        }
        .boxed()
    }
}

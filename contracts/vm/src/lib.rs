#![doc = include_str!("../README.md")]

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use cosmwasm_std::testing::message_info;
use cosmwasm_std::{
    from_json, Addr, Binary, Coin, ContractResult, Env, Response, SystemResult, WasmQuery,
};
use cosmwasm_vm::testing::{
    mock_env, mock_instance_with_options, MockApi, MockInstanceOptions, MockQuerier, MockStorage,
};
use cosmwasm_vm::{
    call_execute, call_instantiate, call_migrate, call_query, Instance, Storage, VmResult,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Gas available to one instance: plenty for a whole scenario.
pub const GAS_LIMIT: u64 = 1_000_000_000_000_000;

/// The workspace's artifacts folder. Under cargo (tests, `cargo run`) the package folder cargo
/// names at run time: a binary reused from another checkout that shares the target dir still
/// reads this checkout's artifacts.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../../artifacts")
}

/// The bytes of `artifacts/datapact_<name>.wasm`.
pub fn artifact(name: &str) -> Result<Vec<u8>> {
    let path = artifacts_dir().join(format!("datapact_{name}.wasm"));
    std::fs::read(&path)
        .with_context(|| format!("reading {} (run `make artifacts`)", path.display()))
}

/// The bytes of a released artifact kept as a fixture: `fixtures/<release>/datapact_<name>.wasm`.
pub fn released_artifact(release: &str, name: &str) -> Result<Vec<u8>> {
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("fixtures")
        .join(release)
        .join(format!("datapact_{name}.wasm"));
    std::fs::read(&path)
        .with_context(|| format!("reading the released artifact {}", path.display()))
}

/// The releases whose artifacts are kept as fixtures, oldest first: every one of them must
/// migrate to the current code.
pub const RELEASES: [&str; 2] = ["0.1.0-single-record", "0.1.0-split-record"];

/// An address the VM's mock API accepts.
pub fn addr(name: &str) -> Addr {
    Addr::unchecked(MockApi::default().addr_make(name))
}

/// One contract instance in the real VM, with a block clock and per-call gas.
pub struct Vm {
    pub instance: Instance<MockApi, MockStorage, MockQuerier>,
    pub env: Env,
}

impl Vm {
    pub fn new(wasm: &[u8]) -> Self {
        let instance = mock_instance_with_options(
            wasm,
            MockInstanceOptions {
                gas_limit: GAS_LIMIT,
                ..Default::default()
            },
        );
        Vm {
            instance,
            env: mock_env(),
        }
    }

    /// The same contract, its storage kept, now running `wasm`: what a chain does between a
    /// `MsgMigrateContract` and the call to the new code's `migrate`.
    pub fn upgrade(self, wasm: &[u8]) -> Result<Self> {
        let env = self.env;
        let backend = self
            .instance
            .recycle()
            .ok_or_else(|| anyhow!("the old instance gave no storage back"))?;
        let options = cosmwasm_vm::InstanceOptions {
            gas_limit: GAS_LIMIT,
        };
        let instance = Instance::from_code(wasm, backend, options, None)
            .map_err(|e| anyhow!("loading the new code: {e}"))?;
        Ok(Vm { instance, env })
    }

    /// The address this instance runs at.
    pub fn address(&self) -> Addr {
        self.env.contract.address.clone()
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, blocks: u64, seconds: u64) {
        self.env.block.height += blocks;
        self.env.block.time = self.env.block.time.plus_seconds(seconds);
    }

    fn metered<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, u64) {
        let before = self.instance.get_gas_left();
        let out = f(self);
        (out, before - self.instance.get_gas_left())
    }

    pub fn instantiate<M: Serialize>(
        &mut self,
        sender: &Addr,
        msg: &M,
        funds: &[Coin],
    ) -> Result<(Response, u64)> {
        let env = self.env.clone();
        let info = message_info(sender, funds);
        let msg = serde_json::to_vec(msg)?;
        let (res, gas) = self.metered(|vm| {
            call_instantiate::<_, _, _, cosmwasm_std::Empty>(&mut vm.instance, &env, &info, &msg)
        });
        Ok((unwrap_contract(res)?, gas))
    }

    pub fn execute<M: Serialize>(
        &mut self,
        sender: &Addr,
        msg: &M,
        funds: &[Coin],
    ) -> Result<(Response, u64)> {
        let env = self.env.clone();
        let info = message_info(sender, funds);
        let msg = serde_json::to_vec(msg)?;
        let (res, gas) = self.metered(|vm| {
            call_execute::<_, _, _, cosmwasm_std::Empty>(&mut vm.instance, &env, &info, &msg)
        });
        Ok((unwrap_contract(res)?, gas))
    }

    pub fn migrate<M: Serialize>(&mut self, msg: &M) -> Result<(Response, u64)> {
        let env = self.env.clone();
        let msg = serde_json::to_vec(msg)?;
        let (res, gas) = self.metered(|vm| {
            call_migrate::<_, _, _, cosmwasm_std::Empty>(&mut vm.instance, &env, &msg)
        });
        Ok((unwrap_contract(res)?, gas))
    }

    /// Raw query answer bytes and gas.
    pub fn query_raw<M: Serialize>(&mut self, msg: &M) -> Result<(Binary, u64)> {
        let env = self.env.clone();
        let msg = serde_json::to_vec(msg)?;
        let (res, gas) = self.metered(|vm| call_query(&mut vm.instance, &env, &msg));
        Ok((unwrap_contract(res)?, gas))
    }

    pub fn query<M: Serialize, R: DeserializeOwned>(&mut self, msg: &M) -> Result<(R, u64)> {
        let (bin, gas) = self.query_raw(msg)?;
        Ok((from_json(&bin).map_err(|e| anyhow!("{e}"))?, gas))
    }

    /// Answers this instance's queries to other contracts (smart and raw) with `answer`;
    /// None is an error for a smart query and an absent key for a raw one.
    pub fn answer_wasm_queries(
        &mut self,
        answer: impl Fn(&WasmQuery) -> Option<Binary> + 'static,
    ) -> Result<()> {
        self.instance
            .with_querier(|q| {
                q.update_wasm(move |req| match (req, answer(req)) {
                    (_, Some(bin)) => SystemResult::Ok(ContractResult::Ok(bin)),
                    (WasmQuery::Raw { .. }, None) => {
                        SystemResult::Ok(ContractResult::Ok(Binary::default()))
                    }
                    (_, None) => {
                        SystemResult::Ok(ContractResult::Err(format!("no answer for {req:?}")))
                    }
                });
                Ok(())
            })
            .map_err(|e| anyhow!("{e}"))
    }

    /// Writes `value` under `key` in this instance's storage (to plant a record a test needs).
    pub fn set_raw(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.instance
            .with_storage(|store| Ok(store.set(&key, &value).0))
            .map_err(|e| anyhow!("{e}"))?
            .map_err(|e| anyhow!("{e}"))
    }

    /// The raw value this instance stores under `key` (what a raw query to it returns).
    pub fn raw(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = key.to_vec();
        self.instance
            .with_storage(|store| Ok(store.get(&key).0))
            .map_err(|e| anyhow!("{e}"))?
            .map_err(|e| anyhow!("{e}"))
    }
}

/// A VM failure (out of gas, a trap) or a contract error, as an error; the answer otherwise.
fn unwrap_contract<T>(res: VmResult<ContractResult<T>>) -> Result<T> {
    match res.map_err(|e| anyhow!("VM error: {e}"))? {
        ContractResult::Ok(t) => Ok(t),
        ContractResult::Err(e) => bail!("contract error: {e}"),
    }
}

/// The value of attribute `key` in a response.
pub fn attr(res: &Response, key: &str) -> Option<String> {
    res.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.clone())
}

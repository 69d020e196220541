//! Everything one run measured: what the report and the baseline are made from.

use crate::calls::Calls;
use crate::first_call::FirstCall;
use crate::route::Route;
use crate::warm::Warm;
use std::collections::BTreeMap;

pub struct Results {
    pub functions: Vec<String>,
    pub sizes: BTreeMap<String, u64>,
    pub cold_ms: BTreeMap<String, Result<f64, String>>,
    pub cold_runs: usize,
    pub warm_n: usize,
    pub routes: Vec<Route>,
    pub warm: BTreeMap<String, Warm>,
    pub calls: BTreeMap<String, Calls>,
    pub first: Vec<FirstCall>,
    /// `MemorySize` of each function's binary in `template.yaml` (the Globals value if unset).
    pub memory_mb: BTreeMap<String, u64>,
}

impl Results {
    pub fn memory_of(&self, binary: &str) -> u64 {
        self.memory_mb.get(binary).copied().unwrap_or(128)
    }
}

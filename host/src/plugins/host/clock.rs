//! `crm:plugin/clock`: now, and today in the tenant's time zone.

use std::sync::Arc;

use chrono::Utc;
use wasmtime::component::{HasData, Linker};

use super::PluginState;
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::runtime::CallContext;

/// The clock interface's part of a store.
pub struct ClockCtx {
    call: Arc<CallContext>,
}

impl ClockCtx {
    pub fn new(call: Arc<CallContext>) -> ClockCtx {
        ClockCtx { call }
    }

    fn now_ms() -> u64 {
        u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default()
    }

    fn today(&self) -> String {
        crate::tenancy::access::today_in(&self.call.time_zone).format("%Y-%m-%d").to_string()
    }
}

macro_rules! clock_host {
    ($version:ident) => {
        impl $version::crm::plugin::clock::Host for ClockCtx {
            async fn now_ms(&mut self) -> u64 {
                ClockCtx::now_ms()
            }

            async fn today(&mut self) -> String {
                ClockCtx::today(self)
            }
        }
    };
}
clock_host!(v0_1);
clock_host!(v0_2);

struct Clock;
impl HasData for Clock {
    type Data<'a> = &'a mut ClockCtx;
}

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::crm::plugin::clock::add_to_linker::<_, Clock>(linker, |s| &mut s.clock)?;
    v0_2::crm::plugin::clock::add_to_linker::<_, Clock>(linker, |s| &mut s.clock)
}

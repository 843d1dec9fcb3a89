//! `crm:plugin/config`: the instance's own settings and secrets, as the tenant's admin
//! entered them; only keys the manifest declares, secrets only through `get-secret`.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use super::PluginState;
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::runtime::CallContext;
use crate::plugins::worlds::PluginError;

/// The config interface's part of a store.
pub struct ConfigCtx {
    call: Arc<CallContext>,
}

impl ConfigCtx {
    pub fn new(call: Arc<CallContext>) -> ConfigCtx {
        ConfigCtx { call }
    }

    /// A setting's value as JSON text; its default when not set.
    fn get(&self, key: &str) -> Result<Option<String>, PluginError> {
        let grant = &self.call.granted.config;
        let def = grant
            .declared
            .iter()
            .find(|d| d.key == key)
            .ok_or_else(|| PluginError::AccessDenied(format!("setting `{key}` is not declared in the manifest")))?;
        if def.secret {
            return Err(PluginError::AccessDenied(format!("`{key}` is a secret: read it with get-secret")));
        }
        let value = grant.settings.get(key).cloned().or_else(|| def.default.clone());
        Ok(value.map(|v| v.to_string()))
    }

    fn get_secret(&self, key: &str) -> Result<Option<String>, PluginError> {
        let grant = &self.call.granted.config;
        match grant.declared.iter().find(|d| d.key == key) {
            Some(def) if def.secret => Ok(grant.secrets.get(key).cloned()),
            _ => Err(PluginError::AccessDenied(format!("`{key}` is not declared as a secret in the manifest"))),
        }
    }
}

macro_rules! config_host {
    ($version:ident) => {
        impl $version::crm::plugin::config::Host for ConfigCtx {
            async fn get(&mut self, key: String) -> Result<Option<String>, $version::crm::plugin::types::Error> {
                ConfigCtx::get(self, &key).map_err(Into::into)
            }

            async fn get_secret(&mut self, key: String) -> Result<Option<String>, $version::crm::plugin::types::Error> {
                ConfigCtx::get_secret(self, &key).map_err(Into::into)
            }
        }
    };
}
config_host!(v0_1);
config_host!(v0_2);

struct Config;
impl HasData for Config {
    type Data<'a> = &'a mut ConfigCtx;
}

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::crm::plugin::config::add_to_linker::<_, Config>(linker, |s| &mut s.config)?;
    v0_2::crm::plugin::config::add_to_linker::<_, Config>(linker, |s| &mut s.config)
}

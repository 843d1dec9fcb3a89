//! Plugin secrets at rest: XChaCha20-Poly1305 with a server key, bound to the tenant
//! and plugin they belong to (a sealed value copied to another row does not open).
//!
//! The key comes from `CRM_SECRET_KEY` (64 hex characters) or, on first start, is
//! generated into `<data dir>/secret.key` (mode 0600). Losing the key loses the secrets:
//! admins re-enter them.

use std::path::Path;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> SecretBox {
        SecretBox { cipher: XChaCha20Poly1305::new(Key::from_slice(&key)) }
    }

    /// The server key from `CRM_SECRET_KEY`, else from (or into) `<data_dir>/secret.key`.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SecretBox> {
        if let Ok(hex_key) = std::env::var("CRM_SECRET_KEY") {
            return Self::from_hex(hex_key.trim()).context("CRM_SECRET_KEY must be 64 hex characters (32 bytes)");
        }
        let path = data_dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_hex(text.trim()).with_context(|| format!("{} is not a 64-hex-character key", path.display()));
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        std::fs::create_dir_all(data_dir)?;
        write_private(&path, hex::encode(key).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), "generated the key that encrypts plugin secrets; back it up with the database");
        Ok(Self::from_key(key))
    }

    fn from_hex(text: &str) -> anyhow::Result<SecretBox> {
        let bytes = hex::decode(text)?;
        let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else { bail!("wrong key length") };
        Ok(Self::from_key(key))
    }

    /// Encrypts `plaintext`; `context` (tenant and plugin) must be given again to open it.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    pub fn open(&self, context: &[u8], sealed: &str) -> anyhow::Result<Vec<u8>> {
        let raw = B64.decode(sealed).context("sealed secret is not base64")?;
        if raw.len() < 24 {
            bail!("sealed secret is too short");
        }
        let (nonce, ct) = raw.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context })
            .map_err(|_| anyhow::anyhow!("secret does not open with this server key (was CRM_SECRET_KEY or secret.key changed?)"))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_in_their_context() {
        let b = SecretBox::from_key([7; 32]);
        let sealed = b.seal(b"tenant-a/inn-dadata", b"{\"api_key\":\"k\"}");
        assert!(!sealed.contains("api_key"));
        assert_eq!(b.open(b"tenant-a/inn-dadata", &sealed).unwrap(), b"{\"api_key\":\"k\"}");
        assert!(b.open(b"tenant-b/inn-dadata", &sealed).is_err());
        assert!(SecretBox::from_key([8; 32]).open(b"tenant-a/inn-dadata", &sealed).is_err());
    }
}

//! Content-addressed file storage under `<data dir>/blobs/<tenant>/<aa>/<sha256>`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::tenancy::TenantId;

#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// A file received into a temporary place, hashed, not yet stored.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// Why an upload could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("reading the upload: {0}")]
    Read(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl BlobStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path_of(&self, tenant: TenantId, sha256: &str) -> PathBuf {
        self.root.join(tenant.0.simple().to_string()).join(&sha256[..2]).join(sha256)
    }

    /// Streams chunks into a temporary file while hashing, refusing more than `max` bytes.
    pub async fn stage<S, E>(&self, chunks: S, max: u64) -> Result<Staged, StageError>
    where
        S: futures::Stream<Item = Result<bytes::Bytes, E>>,
        E: std::fmt::Display,
    {
        use futures::StreamExt;
        let mut chunks = std::pin::pin!(chunks);
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let path = tmp_dir.join(uuid::Uuid::now_v7().to_string());
        let mut file = tokio::fs::File::create(&path).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let result = async {
            while let Some(chunk) = chunks.next().await.transpose().map_err(|e| StageError::Read(e.to_string()))? {
                size += chunk.len() as u64;
                if size > max {
                    return Err(StageError::TooLarge(max));
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
            file.sync_all().await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        Ok(Staged { path, sha256: hex::encode(hasher.finalize()), size })
    }

    /// Moves a staged file to its content address (a no-op when the same content is
    /// already stored for the tenant).
    pub async fn commit(&self, tenant: TenantId, staged: Staged) -> std::io::Result<()> {
        let dest = self.path_of(tenant, &staged.sha256);
        if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
            let _ = tokio::fs::remove_file(&staged.path).await;
            return Ok(());
        }
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(&staged.path, &dest).await
    }

    /// Drops a staged file that will not be stored.
    pub async fn discard(&self, staged: Staged) {
        let _ = tokio::fs::remove_file(&staged.path).await;
    }

    pub async fn open(&self, tenant: TenantId, sha256: &str) -> std::io::Result<tokio::fs::File> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a content hash"));
        }
        tokio::fs::File::open(self.path_of(tenant, sha256)).await
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

pub mod routes;
#[derive(Clone, Debug)]
pub struct BlobStore { root: std::path::PathBuf }
impl BlobStore { pub fn new(root: std::path::PathBuf) -> Self { Self { root } } }

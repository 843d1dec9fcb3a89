//! A hostile plugin (world `inn-enrichment`) for the host's sandbox tests. The ИНН
//! passed to `lookup` chooses the misbehaviour, so one component serves every case
//! without host configuration (the ИНН have invalid check digits on purpose: the
//! tests call the runtime directly):
//!
//! | ИНН          | behaviour                                                        |
//! |--------------|------------------------------------------------------------------|
//! | `0000000001` | infinite loop                                                    |
//! | `0000000002` | allocates and touches 16 MiB chunks forever                      |
//! | `0000000003` | returns a company whose `full_name` is 64 MiB                    |
//! | `0000000004` | panics (a trap: the release profile aborts on panic)             |
//! | `0000000005` | fetches `http://example.com/`; returns the host's error as is    |
//! | `0000000006` | fetches `http://169.254.169.254/latest/meta-data/`; likewise     |
//! | `0000000007` | fetches setting `url`; `full_name` = `status <code>`, or the error |
//! | `0000000008` | reads setting `undeclared` (not in its manifest); returns the error |
//! | `0000000009` | reads setting `url` as a secret (it is not one); returns the error |
//! | anything else | `Ok(None)`                                                      |
//!
//! A fetch that unexpectedly succeeds returns a company named `status <code>`, so the
//! test sees it.

use std::hint::black_box;

use crm_plugin_sdk::enrichment::{Company, CompanyStatus, PartyKind};
use crm_plugin_sdk::{Error, InnEnrichment, config, http};

const MIB: usize = 1 << 20;

struct Hostile;

impl InnEnrichment for Hostile {
    fn lookup(inn: String, _kpp: Option<String>) -> Result<Option<Company>, Error> {
        match inn.as_str() {
            "0000000001" => spin(),
            "0000000002" => memory_bomb(),
            "0000000003" => Ok(Some(named(&inn, "X".repeat(64 * MIB)))),
            "0000000004" => panic!("hostile guest: deliberate panic"),
            "0000000005" => fetch(&inn, "http://example.com/"),
            "0000000006" => fetch(&inn, "http://169.254.169.254/latest/meta-data/"),
            "0000000008" => config::get("undeclared").map(|v| Some(named(&inn, format!("read {v:?}")))),
            "0000000009" => config::secret("url").map(|v| Some(named(&inn, format!("read {v:?}")))),
            "0000000007" => {
                let url = config::get_str("url")?
                    .ok_or_else(|| Error::InvalidInput("setting `url` is not set".to_owned()))?;
                fetch(&inn, &url)
            }
            _ => Ok(None),
        }
    }
}

/// Never returns; `black_box` keeps the optimizer from proving the loop has no effect.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Never returns: keeps every chunk alive and writes to each of its pages.
fn memory_bomb() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 16 * MIB];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        chunks.push(black_box(chunk));
        black_box(&chunks);
    }
}

/// A GET to `url`: the status as the company name, or the host's error unchanged.
fn fetch(inn: &str, url: &str) -> Result<Option<Company>, Error> {
    let response = http::get(url, &[])?;
    Ok(Some(named(inn, format!("status {}", response.status))))
}

fn named(inn: &str, full_name: String) -> Company {
    Company {
        full_name,
        ..Company::new(PartyKind::LegalEntity, inn, CompanyStatus::Unknown)
    }
}

crm_plugin_sdk::export_inn_enrichment!(Hostile);

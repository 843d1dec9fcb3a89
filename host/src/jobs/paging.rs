//! A guard for jobs that page through an outside system by cursor: a cursor that comes
//! back (`a → b → a`) would read the same pages forever, and a source that never ends
//! would hold the job (and its tenant's next runs) forever. Both stop the job with a
//! reason instead.

use std::collections::HashSet;

/// Why paging stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// A cursor handed back was used before in this pass.
    #[error("the cursor `{cursor}` came back after {pages} pages ({path}): the same pages would be read forever")]
    Repeated { cursor: String, pages: u64, path: String },
    /// More pages than one job may read.
    #[error("{max} pages read, the most one job may read (--job-max-pages, CRM_JOB_MAX_PAGES), and there are more")]
    TooManyPages { max: u64 },
}

/// Counts a job's pages and remembers the cursors of the current pass.
#[derive(Debug)]
pub struct CursorGuard {
    seen: HashSet<String>,
    /// The cursors of this pass in order (the first few, for the message).
    path: Vec<String>,
    pages: u64,
    pass_pages: u64,
    max_pages: u64,
}

/// Cursors kept for the message of a cycle.
const PATH_SHOWN: usize = 5;

impl CursorGuard {
    /// A guard for a job that has read `pages_before` pages in earlier runs and may read
    /// `max_pages` in all.
    pub fn new(pages_before: u64, max_pages: u64) -> CursorGuard {
        CursorGuard { seen: HashSet::new(), path: Vec::new(), pages: pages_before, pass_pages: 0, max_pages: max_pages.max(1) }
    }

    /// Starts a new pass (another collection, whose cursors start afresh).
    pub fn new_pass(&mut self) {
        self.seen.clear();
        self.path.clear();
        self.pass_pages = 0;
    }

    /// Takes a page read with `cursor` whose next cursor is `next` (`None`: the last).
    pub fn page(&mut self, cursor: Option<&str>, next: Option<&str>) -> Result<(), PagingError> {
        self.pages += 1;
        self.pass_pages += 1;
        if let Some(c) = cursor
            && self.seen.insert(c.to_string())
            && self.path.len() < PATH_SHOWN
        {
            self.path.push(c.to_string());
        }
        let Some(next) = next else { return Ok(()) };
        if cursor == Some(next) || self.seen.contains(next) {
            let mut path: Vec<&str> = self.path.iter().map(String::as_str).collect();
            if self.seen.len() > PATH_SHOWN {
                path.push("…");
            }
            path.push(next);
            return Err(PagingError::Repeated { cursor: next.to_string(), pages: self.pass_pages, path: path.join(" → ") });
        }
        if self.pages >= self.max_pages {
            return Err(PagingError::TooManyPages { max: self.max_pages });
        }
        Ok(())
    }

    /// Pages read so far, earlier runs included.
    pub fn pages(&self) -> u64 {
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_that_comes_back_stops_paging_and_names_the_cycle() {
        let mut g = CursorGuard::new(0, 100);
        assert_eq!(g.page(None, Some("a")), Ok(()));
        assert_eq!(g.page(Some("a"), Some("b")), Ok(()));
        let err = g.page(Some("b"), Some("a")).unwrap_err();
        assert_eq!(err, PagingError::Repeated { cursor: "a".into(), pages: 3, path: "a → b → a".into() });
        // The same cursor handed straight back.
        let mut g = CursorGuard::new(0, 100);
        assert!(matches!(g.page(Some("x"), Some("x")), Err(PagingError::Repeated { .. })));
        // A new pass may reuse the cursors of the last.
        let mut g = CursorGuard::new(0, 100);
        g.page(None, Some("10")).unwrap();
        g.page(Some("10"), None).unwrap();
        g.new_pass();
        assert_eq!(g.page(None, Some("10")), Ok(()));
    }

    #[test]
    fn pages_are_capped_across_runs_of_a_job() {
        let mut g = CursorGuard::new(2, 4);
        assert_eq!(g.page(None, Some("1")), Ok(()));
        assert_eq!(g.page(Some("1"), Some("2")), Err(PagingError::TooManyPages { max: 4 }));
        // The last page may be the cap-th.
        let mut g = CursorGuard::new(0, 2);
        g.page(None, Some("1")).unwrap();
        assert_eq!(g.page(Some("1"), None), Ok(()));
        assert_eq!(g.pages(), 2);
    }
}

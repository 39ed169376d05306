//! Building and using the filter of held keys ([`super::seen`]): built by one scan of the
//! indexes under the write lock, for archives small enough that the scan costs little.

use super::*;

impl Archive {
    /// Whether the identity index holds `key` (the filter first, then sled).
    pub(super) fn holds_identity(&self, key: &[u8]) -> Result<bool, ArchiveError> {
        Ok(self.seen.may_hold(Kind::Identity, key) && self.identity.contains_key(key)?)
    }

    /// Builds the filter of held keys once, the first time the archive is written to (commands
    /// that only read never pay for it): a scan of the `identity`, `by_time`, `dedup` and
    /// `near` indexes, under the write lock, so no write falls between the scan and the first note.
    /// Article ids come from `by_time`, whose keys end in them, not from `articles`, whose
    /// records are the archive's bulk. Only an archive of at most [`SEEN_SCAN_MOST`] articles
    /// is scanned (a bigger one reads sled for every lookup, as before the filter). Tried once
    /// per open: when the scan fails (storage
    /// damage, which `verify` reports), lookups go on reading sled.
    pub(super) fn build_seen(&self) {
        if self.seen_tried.load(Ordering::Acquire) {
            return;
        }
        let _held = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.seen_tried.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.scan_seen() {
            tracing::warn!(
                "archive {}: cannot list its keys ({e}); lookups read the archive instead",
                self.path.display()
            );
        }
    }

    pub(super) fn scan_seen(&self) -> Result<(), ArchiveError> {
        let n = usize::try_from(self.stored_count().unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
        if n > SEEN_SCAN_MOST {
            return Ok(());
        }
        let mut built = Seen::builder(n.saturating_mul(3));
        for item in self.identity.iter() {
            built.add(Kind::Identity, &item?.0);
        }
        for item in self.by_time.iter() {
            let (key, _) = item?;
            built.add(Kind::Id, key.get(8..).unwrap_or_default());
        }
        for item in self.dedup.iter() {
            built.add(Kind::Title, seen::title_of(&item?.0));
        }
        for item in self.near.iter() {
            built.add(Kind::Near, seen::title_of(&item?.0));
        }
        self.seen.install(built);
        Ok(())
    }
}

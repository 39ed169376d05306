//! Which keys the archive may hold: one Bloom filter (growable-bloom-filter: a scalable Bloom
//! filter, which grows with the archive) over the article ids, the identity keys and the dedup
//! titles it has stored. A lookup of a key the filter has never seen is answered without
//! reading sled, and in a cold ingest nearly every lookup is of such a key: the identity of each
//! new entry, the id its article would get, the dedup title of each new story.
//!
//! Why: each of those sled reads walks the tree (and sled splits pages on that walk), and they
//! were about a sixth of a 500-feed cold ingest's CPU, in the background threads and in the
//! writer alike (perf; README "Performance").
//!
//! The filter is a superset, never a subset, of what is stored: keys are noted before the
//! transaction that writes them (a key noted and then not written only costs a lookup), it is
//! built under the archive's write lock (no write can slip between the scan and the first note),
//! and removals leave it alone. Until it is built every key "may be held", so the archive reads
//! sled as it did before it had one.

use std::sync::{PoisonError, RwLock};

use growable_bloom_filter::GrowableBloom;

/// The kinds of key the filter holds, each hashed with its kind so they cannot collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An article id (the `articles` tree's keys).
    Id = 0,
    /// An `identity` index key (source, entry identity).
    Identity = 1,
    /// A dedup title (see [`title_of`]).
    Title = 2,
    /// A word of the `near` index (its keys' first part, as [`title_of`] cuts it).
    Near = 3,
}

/// False positives wanted: about one lookup in fifty of an absent key still reads sled. Six
/// bits' slices, about 8.7 bits a key: 3.3 MB for a million articles' three kinds of key.
const FALSE_POSITIVES: f64 = 0.02;
/// The least capacity a filter is built with (it grows by doubling past it).
const LEAST: usize = 64 * 1024;

#[derive(Default)]
pub struct Seen {
    /// `None` until built: every key may then be held.
    filter: RwLock<Option<GrowableBloom>>,
}

impl Seen {
    /// Whether the archive may hold `key` (false: it certainly does not).
    pub fn may_hold(&self, kind: Kind, key: &[u8]) -> bool {
        let filter = self.filter.read().unwrap_or_else(PoisonError::into_inner);
        filter
            .as_ref()
            .is_none_or(|f| f.contains((kind as u8, key)))
    }

    #[cfg(test)]
    pub fn is_built(&self) -> bool {
        self.filter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Notes keys about to be written (a no-op until the filter is built: the build scans them).
    pub fn note<'k>(&self, keys: impl IntoIterator<Item = (Kind, &'k [u8])>) {
        let mut filter = self.filter.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = filter.as_mut() {
            for (kind, key) in keys {
                f.insert((kind as u8, key));
            }
        }
    }

    /// A filter with room for `expected` keys, to fill with [`Builder::add`].
    pub fn builder(expected: usize) -> Builder {
        Builder(GrowableBloom::new(FALSE_POSITIVES, expected.max(LEAST)))
    }

    /// Starts answering from `built`. The caller holds the archive's write lock, so nothing was
    /// written between its scan and now.
    pub fn install(&self, built: Builder) {
        *self.filter.write().unwrap_or_else(PoisonError::into_inner) = Some(built.0);
    }
}

/// A filter being filled from the archive's indexes.
pub struct Builder(GrowableBloom);

impl Builder {
    pub fn add(&mut self, kind: Kind, key: &[u8]) {
        self.0.insert((kind as u8, key));
    }
}

/// What the filter holds for a dedup title: its bytes up to the first NUL. A dedup index key is
/// the title, a NUL, then the time and the id, so this is what can be read back from a key; a
/// title with a NUL of its own is cut at the same place whether noted or looked up, so the cut
/// can only make lookups of it read sled, never miss it.
pub fn title_of(key_or_title: &[u8]) -> &[u8] {
    key_or_title
        .split(|b| *b == 0)
        .next()
        .unwrap_or(key_or_title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbuilt_filter_may_hold_anything_and_notes_nothing() {
        let seen = Seen::default();
        seen.note([(Kind::Id, &b"a"[..])]);
        assert!(seen.may_hold(Kind::Id, b"never-written"));
        assert!(!seen.is_built());
    }

    #[test]
    fn a_built_filter_holds_every_key_added_or_noted_under_its_kind() {
        let seen = Seen::default();
        let mut b = Seen::builder(0);
        b.add(Kind::Identity, b"wire\0g1");
        seen.install(b);
        seen.note([(
            Kind::Title,
            title_of(b"patent story\0\x80\0\0\0\0\0\0\0ab12"),
        )]);
        // grown past its first capacity: still no key lost
        let many: Vec<String> = (0..3 * LEAST).map(|i| format!("id{i}")).collect();
        seen.note(many.iter().map(|k| (Kind::Id, k.as_bytes())));
        assert!(seen.may_hold(Kind::Identity, b"wire\0g1"));
        assert!(seen.may_hold(Kind::Title, title_of(b"patent story")));
        assert!(many.iter().all(|k| seen.may_hold(Kind::Id, k.as_bytes())));
        let absent = (0..10_000)
            .filter(|i| seen.may_hold(Kind::Id, format!("other{i}").as_bytes()))
            .count();
        assert!(absent < 500, "{absent} of 10,000 absent keys 'may be held'");
        // the same bytes under another kind are another key
        let crossed = many
            .iter()
            .take(10_000)
            .filter(|k| seen.may_hold(Kind::Identity, k.as_bytes()))
            .count();
        assert!(crossed < 500, "{crossed} of 10,000");
    }

    #[test]
    fn titles_are_cut_at_their_first_nul_on_both_sides() {
        for (title, held) in [("", ""), ("patent story", "patent story"), ("a\0b", "a")] {
            assert_eq!(title_of(title.as_bytes()), held.as_bytes(), "{title:?}");
            let key = [title.as_bytes(), &[0], &[0x80, 0, 0, 0, 0, 0, 0, 1], b"id"].concat();
            assert_eq!(title_of(&key), held.as_bytes(), "{title:?}");
        }
    }
}

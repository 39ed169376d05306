//! Undoing a wrong merge (`gazette split ARTICLE_ID --source ID`): one source's entries leave
//! an article and become their own, in one transaction with every index and identity they
//! move, and stay apart on later polls (`Article::apart`, which `DedupRules::may_join` reads).

use super::*;

/// Why a split was refused.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("no article with id {0:?} in the archive (see `gazette articles`)")]
    NoArticle(String),
    #[error(
        "article {id} has no entry from source {from:?}; its sources are {sources} (see `gazette explain {id}`)"
    )]
    NotItsSource {
        id: String,
        from: String,
        sources: String,
    },
    #[error("article {id} has only source {from:?}'s entry: there is nothing to split it from")]
    Alone { id: String, from: String },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// What a split did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The article the source's entries became.
    pub new_id: String,
    /// How many of the source's identities (guids, links) now lead to it.
    pub identities: usize,
}

impl Archive {
    /// Takes `source`'s entries out of article `id` into an article of their own (see
    /// [`merge::split`]), curating both again.
    pub fn split(
        &self,
        id: &str,
        source: &str,
        curate: Curate<'_>,
        now: DateTime<Utc>,
    ) -> Result<Split, SplitError> {
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(before) = self.get(id)? else {
            return Err(SplitError::NoArticle(id.to_string()));
        };
        if !before.sources.iter().any(|s| s == source) {
            return Err(SplitError::NotItsSource {
                id: id.to_string(),
                from: source.to_string(),
                sources: before.sources.join(", "),
            });
        }
        if before.sources.len() < 2 {
            return Err(SplitError::Alone {
                id: id.to_string(),
                from: source.to_string(),
            });
        }
        let key_of =
            |title: &str, publisher: &str| crate::normalize::story_title(title, &[publisher]);
        let (mut rest, mut off) = merge::split(&before, source, key_of, now);
        let first = off
            .dedup_keys
            .first()
            .map(|k| (k.title.clone(), k.published))
            .unwrap_or_else(|| (off.title.clone(), off.published));
        let mut attempt = 0;
        off.id = loop {
            let candidate = merge::article_id(&first.0, first.1, attempt);
            if candidate != before.id
                && !self
                    .articles
                    .contains_key(candidate.as_bytes())
                    .map_err(ArchiveError::from)?
                && !self
                    .tombstones
                    .contains_key(candidate.as_bytes())
                    .map_err(ArchiveError::from)?
            {
                break candidate;
            }
            attempt += 1;
        };
        rest.topics = curate(&rest);
        off.topics = curate(&off);
        let mut ops = Vec::new();
        index_ops(Some(&before), &rest, &mut ops);
        index_ops(None, &off, &mut ops);
        // every identity of the source that led to the article leads to the new one, without
        // its fingerprint: the source's next poll reads those entries again (and not as an
        // unchanged document), so the new article gets the source's own text and date
        let mut identities = 0;
        for item in self.identity.scan_prefix(&keys::source_prefix(source)) {
            let (key, value) = item?;
            if keys::identity_target(&value).0 == before.id {
                let value = keys::identity_value(&off.id, None);
                ops.push(Op::Put(Tree::Identity, key, value));
                identities += 1;
            }
        }
        if let Some(mut state) = self.poll_state(source)?
            && state.body_hash.take().is_some()
        {
            ops.push(Op::Put(
                Tree::Sources,
                source.as_bytes().to_vec(),
                encode(&state)?,
            ));
        }
        ops.push(Op::Put(
            Tree::Articles,
            rest.id.as_bytes().to_vec(),
            encode(&rest)?,
        ));
        ops.push(Op::Put(
            Tree::Articles,
            off.id.as_bytes().to_vec(),
            encode(&off)?,
        ));
        self.apply(&guard, &ops)?;
        drop(guard);
        self.db.flush().map_err(ArchiveError::from)?;
        self.write_sidecar(None);
        self.bump(
            before
                .topics
                .iter()
                .chain(&rest.topics)
                .chain(&off.topics)
                .cloned()
                .chain(before.sources.iter().map(|s| super::topics::source_key(s))),
        );
        Ok(Split {
            new_id: off.id,
            identities,
        })
    }
}

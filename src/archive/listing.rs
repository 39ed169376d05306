//! Paging through the archive for people (issue 22): a topic's, a source's or every article,
//! newest first, a page at a time, resumed from an opaque cursor (the index key's time and id,
//! in hex) so a page never shifts when new articles arrive.

use super::*;

/// Which articles a listing walks.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    All,
    Topic(&'a str),
    Source(&'a str),
}

/// One page of a listing, and the cursor of the next older page (`None`: this is the last).
#[derive(Debug, Default)]
pub struct Page {
    pub articles: Vec<Article>,
    pub next: Option<String>,
}

impl Archive {
    /// Up to `n` articles of `listing` older than `before` (a cursor from an earlier page),
    /// newest first. A cursor that is not one (hand-edited) starts from the newest.
    pub fn page(
        &self,
        listing: Listing<'_>,
        before: Option<&str>,
        n: usize,
    ) -> Result<Page, ArchiveError> {
        let (index, prefix) = match listing {
            Listing::All => (&self.by_time, Vec::new()),
            Listing::Topic(t) => (&self.topics, keys::source_prefix(t)),
            Listing::Source(s) => (&self.by_source, keys::source_prefix(s)),
        };
        let cursor = before
            .and_then(|c| hex::decode(c).ok())
            .filter(|c| c.len() > 8);
        let hi = match &cursor {
            Some(c) => Some([prefix.as_slice(), c].concat()),
            None => chunks::successor(&prefix),
        };
        let mut page = Page::default();
        let mut last: Option<Vec<u8>> = None;
        for item in index.range_rev(&prefix, hi.as_deref()) {
            let (key, _) = item?;
            let Some(suffix) = key.get(prefix.len()..) else {
                continue;
            };
            if page.articles.len() == n {
                page.next = last.map(hex::encode);
                break;
            }
            let id = String::from_utf8_lossy(suffix.get(8..).unwrap_or_default()).into_owned();
            page.articles.extend(self.get_readable(&id)?);
            last = Some(suffix.to_vec());
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::read_document;

    /// Following `next` from the first page visits every article once, newest first, and a page
    /// asked for again after new articles arrived is the same page.
    #[test]
    fn pages_visit_every_article_once_and_do_not_shift() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open");
        let items: String = (0..23)
            .map(|i| {
                format!(
                    "<item><title>Story number {i} about bridges</title><guid>g{i}</guid>\
                     <pubDate>Wed, 04 May 2016 {:02}:{:02}:00 GMT</pubDate></item>",
                    i / 60,
                    i % 60
                )
            })
            .collect();
        let doc = format!("<rss version=\"2.0\"><channel><title>W</title>{items}</channel></rss>");
        let now = Utc::now();
        let c = read_document(doc.as_bytes(), None, None, "s", None, now).expect("feed");
        archive
            .ingest(
                "s",
                &c.candidates,
                &PollState::default(),
                now,
                &|_| vec!["t".into()],
                &[],
            )
            .expect("stored");
        for listing in [Listing::All, Listing::Topic("t"), Listing::Source("s")] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = archive.page(listing, cursor.as_deref(), 5).expect("page");
                pages += 1;
                seen.extend(page.articles.iter().map(|a| a.published));
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 23, "{listing:?}");
            assert_eq!(pages, 5, "{listing:?}");
            assert!(
                seen.windows(2).all(|w| w[0] > w[1]),
                "newest first: {listing:?}"
            );
        }
        let second = archive.page(Listing::All, None, 5).expect("page").next;
        let before = archive
            .page(Listing::All, second.as_deref(), 5)
            .expect("page");
        // a newer article arrives: the second page stays the second page
        let doc = "<rss version=\"2.0\"><channel><title>W</title><item><title>A late bridge story \
                   arrives</title><guid>late</guid><pubDate>Thu, 05 May 2016 00:00:00 GMT</pubDate>\
                   </item></channel></rss>";
        let c = read_document(doc.as_bytes(), None, None, "s", None, now).expect("feed");
        archive
            .ingest(
                "s",
                &c.candidates,
                &PollState::default(),
                now,
                &|_| Vec::new(),
                &[],
            )
            .expect("stored");
        let after = archive
            .page(Listing::All, second.as_deref(), 5)
            .expect("page");
        let ids = |p: &Page| p.articles.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&before), ids(&after));
        // nonsense cursors start from the newest
        let first = archive.page(Listing::All, Some("zz"), 1).expect("page");
        assert_eq!(first.articles[0].title, "A late bridge story arrives");
    }
}

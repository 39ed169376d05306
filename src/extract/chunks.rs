//! Articles split into sibling containers. Many sites cut the body into chunks (a run of
//! paragraphs, an ad or a newsletter box, the next run), each in an element with the same class
//! at the same place in the page. The main-text extractor keeps the chunk it scored best and
//! loses the rest of the article; this finds the other chunks of the kept one's kind and gives
//! their paragraphs back in page order.

use std::collections::HashSet;
use std::sync::OnceLock;

use scraper::{ElementRef, Html, Selector};

/// Paragraphs found in the chunks before and after the one the extractor kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Chunks {
    pub before: Vec<Paragraph>,
    pub after: Vec<Paragraph>,
}

/// One paragraph: its text, and its HTML (the element as the page wrote it).
#[derive(Debug, PartialEq, Eq)]
pub struct Paragraph {
    pub text: String,
    pub html: String,
}

/// The most chunks an article is taken to have: beyond that, same-class blocks are a list of
/// teasers, not one text.
const MAX_CHUNKS: usize = 24;

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A paragraph's identity, to tell whether the extracted text already holds it.
fn key(s: &str) -> String {
    squash(s)
        .chars()
        .take(60)
        .collect::<String>()
        .to_lowercase()
}

/// The chunks of `doc` of the same kind as the one holding `extracted`'s first long paragraph.
pub fn missing(doc: &Html, extracted: &str) -> Chunks {
    static P: OnceLock<Selector> = OnceLock::new();
    let Some(first) = extracted.lines().find(|l| l.chars().count() >= 80).map(key) else {
        return Chunks::default();
    };
    let p_sel = P.get_or_init(|| super::sel("p"));
    let Some(anchor) = doc
        .select(p_sel)
        .find(|p| key(&p.text().collect::<String>()) == first)
    else {
        return Chunks::default();
    };
    // the nearest container (up to three levels up) that has siblings of its kind
    for container in anchor.ancestors().filter_map(ElementRef::wrap).take(3) {
        let Some(sig) = signature(container) else {
            continue;
        };
        let class = container.value().attr("class");
        let same: Vec<ElementRef<'_>> = doc
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| {
                e.id() != container.id()
                    && e.value().attr("class") == class
                    && signature(*e).as_ref() == Some(&sig)
            })
            .take(MAX_CHUNKS + 1)
            .collect();
        if same.is_empty() {
            continue;
        }
        if same.len() >= MAX_CHUNKS {
            return Chunks::default();
        }
        let have: HashSet<String> = extracted.lines().map(key).collect();
        let mut chunks = Chunks::default();
        let mut before = true;
        for node in doc.root_element().descendants() {
            if node.id() == container.id() {
                before = false;
                continue;
            }
            let Some(other) = same.iter().find(|e| e.id() == node.id()) else {
                continue;
            };
            if container.ancestors().any(|a| a.id() == other.id())
                || other.ancestors().any(|a| a.id() == container.id())
            {
                continue;
            }
            let paragraphs: Vec<Paragraph> = other
                .select(p_sel)
                .filter(|p| !in_aside(*p, *other))
                .map(|p| Paragraph {
                    text: squash(&p.text().collect::<String>()),
                    html: p.html(),
                })
                .filter(|p| !p.text.is_empty() && !have.contains(&key(&p.text)))
                .collect();
            // article text, not a caption or a teaser: some length, one real paragraph
            let long = paragraphs.iter().any(|p| p.text.chars().count() >= 80);
            let total: usize = paragraphs.iter().map(|p| p.text.chars().count()).sum();
            if long && total >= 200 {
                if before {
                    chunks.before.extend(paragraphs);
                } else {
                    chunks.after.extend(paragraphs);
                }
            }
        }
        return chunks;
    }
    Chunks::default()
}

/// An element's kind: its tag and class, and its parent's and grandparent's (chunks sit at the
/// same place in the page). Elements without a class have no kind.
fn signature(el: ElementRef<'_>) -> Option<Vec<(String, String)>> {
    let class = el.value().attr("class")?.trim();
    if class.is_empty() {
        return None;
    }
    let mut sig = vec![(el.value().name().to_string(), class.to_string())];
    for a in el.ancestors().filter_map(ElementRef::wrap).take(2) {
        sig.push((
            a.value().name().to_string(),
            a.value()
                .attr("class")
                .unwrap_or_default()
                .trim()
                .to_string(),
        ));
    }
    Some(sig)
}

/// Whether a paragraph sits in a box inside the chunk (a newsletter sign-up, a pull quote, a
/// related link) rather than in its text.
fn in_aside(p: ElementRef<'_>, chunk: ElementRef<'_>) -> bool {
    p.ancestors()
        .take_while(|a| a.id() != chunk.id())
        .filter_map(ElementRef::wrap)
        .any(|a| {
            matches!(
                a.value().name(),
                "aside" | "figure" | "blockquote" | "form" | "nav"
            ) || a.value().attr("class").is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                [
                    "newsletter",
                    "related",
                    "promo",
                    "embed",
                    "ad-",
                    "advert",
                    "share",
                    "author",
                    "bio",
                    "comment",
                ]
                .iter()
                .any(|w| c.contains(w))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "a paragraph long enough to be article text rather than a caption or a label, as articles have";

    #[test]
    fn the_other_chunks_of_a_split_article_come_back_in_order() {
        let html = format!(
            r#"<div class="chunks">
              <div class="grid"><div class="body chunk"><p>First {LONG}.</p><p>Second {LONG}.</p></div></div>
              <div class="ad">Advertisement</div>
              <div class="grid"><div class="body chunk"><p>Third {LONG}.</p><aside class="newsletter"><p>Sign up {LONG}.</p></aside><p>Fourth {LONG}.</p></div></div>
            </div>
            <div class="comments"><div class="body chunk-comment"><p>A comment {LONG}.</p></div></div>"#
        );
        let doc = Html::parse_document(&html);
        let extracted = format!("First {LONG}.\n\nSecond {LONG}.");
        let chunks = missing(&doc, &extracted);
        let texts: Vec<&str> = chunks.after.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [format!("Third {LONG}."), format!("Fourth {LONG}.")],
            "the newsletter box and the comment are not the article"
        );
        assert!(chunks.before.is_empty());
        // when the extractor kept the later chunk, the earlier one comes before it
        let extracted = format!("Third {LONG}.\n\nFourth {LONG}.");
        let chunks = missing(&doc, &extracted);
        assert_eq!(chunks.before.len(), 2);
        assert!(chunks.after.is_empty());
    }

    #[test]
    fn one_container_or_a_list_of_teasers_adds_nothing() {
        let one = format!(r#"<div class="body"><p>First {LONG}.</p></div>"#);
        let doc = Html::parse_document(&one);
        assert_eq!(missing(&doc, &format!("First {LONG}.")), Chunks::default());
        let teasers: String = (0..30)
            .map(|i| {
                format!(r#"<div class="card"><p>Teaser {i} {LONG}. {LONG}. {LONG}.</p></div>"#)
            })
            .collect();
        let doc = Html::parse_document(&teasers);
        assert_eq!(
            missing(&doc, &format!("Teaser 0 {LONG}. {LONG}. {LONG}.")),
            Chunks::default()
        );
    }
}

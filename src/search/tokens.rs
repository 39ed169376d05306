//! The index's tokenizers, made from the matcher's own word segmentation so that the index and
//! the topic query language see the same words (`query::words`), lower-cased as the matcher
//! lower-cases them, at the same positions (phrases); and CJK runs, which the matcher reads as
//! substrings, as their characters and character pairs.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::query::{is_cjk, words};

/// Tokens worked out up front (texts are capped by `normalize`, so this stays small).
pub struct Tokens {
    tokens: Vec<Token>,
    at: usize,
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.at.saturating_sub(1).min(self.tokens.len() - 1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.at.saturating_sub(1).min(self.tokens.len() - 1);
        &mut self.tokens[i]
    }
}

fn token(text: String, position: usize, from: usize, to: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

/// The matcher's words, lower-cased (`query::words`, `str::to_lowercase`).
#[derive(Clone, Default)]
pub struct Words;

impl Tokenizer for Words {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        let tokens = words(text)
            .enumerate()
            .map(|(i, w)| {
                let from = w.as_ptr() as usize - text.as_ptr() as usize;
                token(w.to_lowercase(), i, from, from + w.len())
            })
            .collect();
        Tokens { tokens, at: 0 }
    }
}

/// Every character and every pair of neighbouring characters of each CJK run, lower-cased
/// (full-width Latin letters are in the CJK ranges): a CJK substring term is in a text only if
/// all its pairs are.
#[derive(Clone, Default)]
pub struct Cjk;

impl Tokenizer for Cjk {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        Tokens {
            tokens: cjk_grams(text)
                .into_iter()
                .enumerate()
                .map(|(i, g)| token(g, i, 0, 0))
                .collect(),
            at: 0,
        }
    }
}

/// The characters and character pairs of the CJK runs of `text`, lower-cased.
pub fn cjk_grams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut flush = |run: &mut Vec<char>| {
        for (i, c) in run.iter().enumerate() {
            out.push(c.to_string());
            if let Some(d) = run.get(i + 1) {
                out.push([*c, *d].iter().collect());
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.extend(c.to_lowercase());
        } else {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(mut stream: Tokens) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn words_are_the_matchers_lower_cased_at_their_positions() {
        let cases: [(&str, &[(&str, usize)]); 4] = [
            ("", &[]),
            (
                "Zhongguancun's IP-office, 2016!",
                &[
                    ("zhongguancun", 0),
                    ("s", 1),
                    ("ip", 2),
                    ("office", 3),
                    ("2016", 4),
                ],
            ),
            ("Straße ÉTÉ", &[("straße", 0), ("été", 1)]),
            ("中关村 park", &[("park", 0)]),
        ];
        for (text, want) in cases {
            let got = texts(Words.token_stream(text));
            let want: Vec<(String, usize)> =
                want.iter().map(|(t, p)| (t.to_string(), *p)).collect();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn cjk_runs_give_their_characters_and_pairs() {
        assert_eq!(
            cjk_grams("a中关村b知识"),
            ["中", "中关", "关", "关村", "村", "知", "知识", "识"]
        );
        assert!(cjk_grams("plain text").is_empty());
    }
}

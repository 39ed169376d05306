//! The query parser: tokens with their columns, then recursive descent, so every error says
//! where in the query it is.

use std::fmt;

use super::words::{is_cjk, words};
use super::{Expr, Field, Pattern, Term};

/// A syntax error, located by 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for QueryError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Field(Field),
    Word(String),
    Quoted(String),
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let tokens = lex(query)?;
    let end = query.chars().count() + 1;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end,
    };
    if p.tokens.is_empty() {
        return Err(QueryError {
            column: 1,
            message: "empty query".into(),
        });
    }
    let expr = p.or(Field::Text)?;
    if let Some((tok, col)) = p.tokens.get(p.pos) {
        let message = match tok {
            Tok::Close => "unexpected ')' (no matching '(')".to_string(),
            _ => "unexpected input".to_string(),
        };
        return Err(QueryError {
            column: *col,
            message,
        });
    }
    Ok(expr)
}

fn lex(query: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Tok::Open, col));
            i += 1;
        } else if c == ')' {
            out.push((Tok::Close, col));
            i += 1;
        } else if c == '"' {
            let start = i + 1;
            let Some(len) = chars[start..].iter().position(|c| *c == '"') else {
                return Err(QueryError {
                    column: col,
                    message: "unterminated '\"'".into(),
                });
            };
            let text: String = chars[start..start + len].iter().collect();
            if text.trim().is_empty() {
                return Err(QueryError {
                    column: col,
                    message: "empty phrase \"\"".into(),
                });
            }
            out.push((Tok::Quoted(text), col));
            i = start + len + 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '(' | ')' | '"')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some((name, rest)) = word.split_once(':') {
                if let Some((_, field)) = Field::ALL.iter().find(|(n, _)| *n == name) {
                    out.push((Tok::Field(*field), col));
                    if !rest.is_empty() {
                        out.push((Tok::Word(rest.to_string()), col + name.chars().count() + 1));
                    }
                    continue;
                }
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic()) {
                    let names: Vec<&str> = Field::ALL.iter().map(|(n, _)| *n).collect();
                    return Err(QueryError {
                        column: col,
                        message: format!(
                            "unknown field \"{name}:\" (fields: {})",
                            names.join(", ")
                        ),
                    });
                }
            }
            let tok = match word.as_str() {
                "AND" => Tok::And,
                "OR" => Tok::Or,
                "NOT" => Tok::Not,
                _ => Tok::Word(word),
            };
            out.push((tok, col));
        }
    }
    Ok(out)
}

/// How deep parentheses and `NOT`s may nest. The parser, evaluation, printing and dropping of
/// a query all recurse once per level: 20,000 nested parentheses overflowed the stack and
/// aborted the process (a SIGHUP with such a file killed the daemon). Real queries nest a few
/// levels.
pub const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    /// Parentheses and `NOT`s open around the current position.
    depth: usize,
    /// Column just past the end, for "expected … at end".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn err<T>(&self, message: &str) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.column(),
            message: message.to_string(),
        })
    }

    fn or(&mut self, field: Field) -> Result<Expr, QueryError> {
        let mut items = vec![self.and(field)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and(field)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, field: Field) -> Result<Expr, QueryError> {
        let mut items = vec![self.unary(field)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.unary(field)?);
                }
                Some(Tok::Word(_) | Tok::Quoted(_) | Tok::Field(_) | Tok::Open | Tok::Not) => {
                    items.push(self.unary(field)?);
                }
                _ => break,
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    /// One level deeper (a parenthesis or a `NOT`), refused past [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), QueryError> {
        if self.depth >= MAX_DEPTH {
            return self.err(&format!(
                "nested more than {MAX_DEPTH} levels deep (parentheses and NOTs)"
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn unary(&mut self, field: Field) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.descend()?;
            self.pos += 1;
            if self.peek().is_none() {
                return self.err("expected a term after NOT");
            }
            let inner = self.unary(field)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary(field)
    }

    fn primary(&mut self, field: Field) -> Result<Expr, QueryError> {
        let Some((tok, col)) = self.tokens.get(self.pos).cloned() else {
            return self.err("expected a term");
        };
        match tok {
            Tok::Open => {
                self.descend()?;
                self.pos += 1;
                if self.peek() == Some(&Tok::Close) {
                    return self.err("empty parentheses");
                }
                let inner = self.or(field)?;
                if self.peek() != Some(&Tok::Close) {
                    return self.err("expected ')'");
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Field(f) => {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Word(_) | Tok::Quoted(_) | Tok::Open) => self.primary(f),
                    _ => self.err(&format!("expected a term or '(' after \"{}:\"", f.name())),
                }
            }
            Tok::Word(w) => {
                self.pos += 1;
                term(field, &w, false)
                    .map(Expr::Term)
                    .map_err(|message| QueryError {
                        column: col,
                        message,
                    })
            }
            Tok::Quoted(q) => {
                self.pos += 1;
                term(field, &q, true)
                    .map(Expr::Term)
                    .map_err(|message| QueryError {
                        column: col,
                        message,
                    })
            }
            Tok::Close => self.err("unexpected ')'"),
            Tok::And | Tok::Or => self.err("expected a term before AND/OR"),
            Tok::Not => self.err("expected a term"),
        }
    }
}

/// Capitals of two or more letters: an acronym, matched case-sensitively.
fn is_acronym(word: &str) -> bool {
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
}

fn term(field: Field, text: &str, quoted: bool) -> Result<Term, String> {
    let written = if quoted {
        format!("\"{text}\"")
    } else {
        text.to_string()
    };
    let pattern = match field {
        Field::Source | Field::Tag => Pattern::Glob(text.to_lowercase()),
        Field::Lang => Pattern::Lang(text.to_lowercase().replace('_', "-")),
        Field::Title | Field::Text | Field::Author => {
            if text.chars().any(is_cjk) {
                Pattern::Substring(text.to_lowercase().trim().to_string())
            } else if !quoted && text.ends_with('*') && text.len() > 1 {
                let stem = &text[..text.len() - 1];
                let ws: Vec<&str> = words(stem).collect();
                if ws.len() != 1 || stem.contains('*') {
                    return Err(format!(
                        "prefix term \"{text}\" must be one word followed by '*'"
                    ));
                }
                Pattern::Prefix {
                    case_sensitive: is_acronym(ws[0]),
                    text: if is_acronym(ws[0]) {
                        ws[0].to_string()
                    } else {
                        ws[0].to_lowercase()
                    },
                }
            } else {
                let ws: Vec<&str> = words(text).collect();
                match ws.as_slice() {
                    [] => {
                        return Err(format!(
                            "term \"{text}\" has no letters or digits to look for"
                        ));
                    }
                    [one] if !quoted => Pattern::Word {
                        case_sensitive: is_acronym(one),
                        text: if is_acronym(one) {
                            one.to_string()
                        } else {
                            one.to_lowercase()
                        },
                    },
                    many => Pattern::Phrase(many.iter().map(|w| w.to_lowercase()).collect()),
                }
            }
        }
    };
    Ok(Term {
        field,
        pattern,
        written,
    })
}

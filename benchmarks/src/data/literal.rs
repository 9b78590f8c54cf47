//! A parser for the subset of Python literals that arch encodings are written in: integers,
//! quoted strings, lists and tuples, and calls with optional `key=value` arguments
//! (`Genotype(normal=[('sep_conv_3x3', 0), …], …)`, `(0, 1, 2)`, `[[(0, 1), …], …]`).
//! Every encoding that is a Python literal parses through it.

use anyhow::{bail, ensure, Context, Result};

/// The subset of Python literals the encodings use.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Str(String),
    /// A list or tuple.
    Seq(Vec<Lit>),
    /// `name(args)`, arguments optionally `key=value`.
    Call(String, Vec<(Option<String>, Lit)>),
}

/// Nesting deeper than this is rejected (the encodings need 3 levels).
const MAX_DEPTH: usize = 8;

pub fn parse_literal(s: &str) -> Result<Lit> {
    let mut p = LitParser { s, pos: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.pos != s.len() {
        bail!("unexpected `{}` after the value", p.rest_preview());
    }
    Ok(v)
}

struct LitParser<'a> {
    s: &'a str,
    /// Byte offset; always on a char boundary (only ASCII and whole strings are consumed).
    pos: usize,
}

impl LitParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn rest_preview(&self) -> String {
        self.s.get(self.pos..).unwrap_or("").chars().take(20).collect()
    }

    fn ident(&mut self) -> Option<&str> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.s[start..self.pos])
    }

    fn value(&mut self, depth: usize) -> Result<Lit> {
        ensure!(depth <= MAX_DEPTH, "nested too deeply");
        self.ws();
        match self.peek() {
            Some(open @ (b'[' | b'(')) => {
                self.pos += 1;
                let close = if open == b'[' { b']' } else { b')' };
                let items = self.items(close, depth)?;
                ensure!(items.iter().all(|(k, _)| k.is_none()), "a list cannot hold key=value");
                Ok(Lit::Seq(items.into_iter().map(|(_, v)| v).collect()))
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let rest = &self.s[self.pos..];
                let end = rest.find(q as char).context("unterminated string")?;
                let text = rest[..end].to_string();
                self.pos += end + 1;
                Ok(Lit::Str(text))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text = &self.s[start..self.pos];
                Ok(Lit::Int(text.parse().with_context(|| format!("`{text}` is not an integer"))?))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let name = self.ident().unwrap_or_default().to_string();
                self.ws();
                ensure!(self.peek() == Some(b'('), "`{name}` is not followed by (");
                self.pos += 1;
                Ok(Lit::Call(name, self.items(b')', depth)?))
            }
            Some(_) => bail!("unexpected `{}`", self.rest_preview()),
            None => bail!("unexpected end of text"),
        }
    }

    /// Comma-separated values up to `close` (already past the opening bracket).
    fn items(&mut self, close: u8, depth: usize) -> Result<Vec<(Option<String>, Lit)>> {
        let mut out = Vec::new();
        loop {
            self.ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(out);
            }
            let save = self.pos;
            let key = match self.ident().map(str::to_string) {
                Some(k) => {
                    self.ws();
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        Some(k)
                    } else {
                        self.pos = save;
                        None
                    }
                }
                None => None,
            };
            out.push((key, self.value(depth + 1)?));
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => bail!("expected `,` or `{}` before `{}`", close as char, self.rest_preview()),
            }
        }
    }
}

/// A flat list or tuple of integers (`(1, 2, 3)`, `[0, 1]`, a trailing comma allowed), e.g.
/// NAS-Bench-201's NASLib tuple or NAS-Bench-101's 56-tuple.
pub fn int_sequence(s: &str) -> Result<Vec<i64>> {
    match parse_literal(s)? {
        Lit::Seq(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Lit::Int(n) => Ok(n),
                other => bail!("item {i} is {other:?}, not an integer"),
            })
            .collect(),
        other => bail!("expected a tuple or list of integers, found {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sequences_calls_and_rejects_garbage() {
        assert_eq!(int_sequence("(0, 1, -2,)").unwrap(), vec![0, 1, -2]);
        assert_eq!(int_sequence(" [3] ").unwrap(), vec![3]);
        assert!(int_sequence("(0, 'a')").is_err());
        assert!(int_sequence("(0, 1").is_err());
        assert!(int_sequence("0").is_err());
        let call = parse_literal("G(a=[1, 2], b='x')").unwrap();
        assert_eq!(
            call,
            Lit::Call(
                "G".into(),
                vec![(Some("a".into()), Lit::Seq(vec![Lit::Int(1), Lit::Int(2)])), (Some("b".into()), Lit::Str("x".into()))]
            )
        );
        assert!(parse_literal(&"[".repeat(20)).is_err());
    }
}

//! `$filter`: a parser and evaluator for the OData v3 subset 1C clients send.
//!
//! Grammar (keywords lowercase, as OData spells them):
//!
//! ```text
//! expr       := and_expr ("or" and_expr)*
//! and_expr   := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := operand ("eq" | "ne" | "gt" | "ge" | "lt" | "le") operand
//! operand    := property | literal
//! literal    := "true" | "false" | "null" | 'text' (a ' inside doubled)
//!             | guid'<8-4-4-4-12 hex>' | datetime'YYYY-MM-DDTHH:MM[:SS[.fff]]'
//!             | number (optionally signed, with a fraction, an exponent, a type suffix M/D/F/L)
//! ```
//!
//! Comparisons of incomparable values (a number with a text, null with anything but
//! null) are false, except `ne`, which is then true. GUID literals compare as lowercase
//! text; a date compares with a text property as the text `YYYY-MM-DDTHH:MM:SS`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use chrono::NaiveDateTime;

use crate::Scalar;

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Expr,
}

/// Why a `$filter` text does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// Where, as a character offset into the text.
    pub at: usize,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at)
    }
}

impl std::error::Error for FilterError {}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// Lowercased.
    Guid(String),
    DateTime(NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Property(String),
    Literal(Literal),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
}

impl Filter {
    /// Parses a `$filter` value (already percent-decoded).
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, pos: 0, end: text.chars().count() };
        let root = p.or_expr()?;
        if let Some((tok, at)) = p.tokens.get(p.pos) {
            return Err(FilterError { message: format!("unexpected {} after a complete expression", tok.describe()), at: *at });
        }
        Ok(Filter { root })
    }

    /// The property names the filter reads, each once, in order of appearance.
    pub fn properties(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
                Expr::Compare(l, _, r) => {
                    for o in [l, r] {
                        if let Operand::Property(p) = o
                            && !out.contains(&p.as_str())
                        {
                            out.push(p);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// Whether a record passes, `get` giving its properties by name.
    pub fn matches<'s>(&self, get: impl Fn(&str) -> Scalar<'s>) -> bool {
        eval(&self.root, &get)
    }
}

fn eval<'s>(e: &Expr, get: &impl Fn(&str) -> Scalar<'s>) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, get) || eval(b, get),
        Expr::And(a, b) => eval(a, get) && eval(b, get),
        Expr::Not(a) => !eval(a, get),
        Expr::Compare(l, op, r) => {
            let l = operand(l, get);
            let r = operand(r, get);
            let ord = l.compare(&r);
            match op {
                Op::Eq => ord == Some(Ordering::Equal),
                Op::Ne => ord != Some(Ordering::Equal),
                Op::Gt => ord == Some(Ordering::Greater),
                Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => ord == Some(Ordering::Less),
                Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            }
        }
    }
}

fn operand<'a, 's: 'a>(o: &'a Operand, get: &impl Fn(&str) -> Scalar<'s>) -> Scalar<'a> {
    match o {
        Operand::Property(p) => get(p),
        Operand::Literal(Literal::Null) => Scalar::Null,
        Operand::Literal(Literal::Bool(b)) => Scalar::Bool(*b),
        Operand::Literal(Literal::Number(n)) => Scalar::Number(*n),
        Operand::Literal(Literal::Text(t) | Literal::Guid(t)) => Scalar::Text(Cow::Borrowed(t)),
        Operand::Literal(Literal::DateTime(d)) => Scalar::DateTime(*d),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Literal(Literal),
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("'{s}'"),
            Token::Literal(l) => format!("literal {l:?}"),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |message: String, at: usize| FilterError { message, at };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Token::Open, start));
            i += 1;
        } else if c == ')' {
            out.push((Token::Close, start));
            i += 1;
        } else if c == '\'' {
            let (s, next) = quoted(&chars, i)?;
            out.push((Token::Literal(Literal::Text(s)), start));
            i = next;
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                i += 1;
                if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let digits: String = chars[start..i].iter().collect();
            if i < chars.len() && "mMdDfFlL".contains(chars[i]) {
                i += 1;
            }
            if i < chars.len() && is_ident_char(chars[i]) {
                return Err(err(format!("malformed number '{}'", chars[start..=i].iter().collect::<String>()), start));
            }
            let n: f64 = digits.parse().map_err(|_| err(format!("malformed number '{digits}'"), start))?;
            out.push((Token::Literal(Literal::Number(n)), start));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if chars.get(i) == Some(&'\'') {
                let (body, next) = quoted(&chars, i)?;
                let lit = match word.as_str() {
                    "guid" => Literal::Guid(guid(&body).ok_or_else(|| err(format!("malformed guid literal '{body}'"), start))?),
                    "datetime" => {
                        Literal::DateTime(datetime(&body).ok_or_else(|| err(format!("malformed datetime literal '{body}'"), start))?)
                    }
                    _ => return Err(err(format!("unknown literal type '{word}'"), start)),
                };
                out.push((Token::Literal(lit), start));
                i = next;
            } else {
                let tok = match word.as_str() {
                    "true" => Token::Literal(Literal::Bool(true)),
                    "false" => Token::Literal(Literal::Bool(false)),
                    "null" => Token::Literal(Literal::Null),
                    _ => Token::Ident(word),
                };
                out.push((tok, start));
            }
        } else {
            return Err(err(format!("unexpected character '{c}'"), start));
        }
    }
    Ok(out)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A quoted text starting at `chars[open]` (a `'`): its content with `''` undoubled,
/// and the index after the closing quote.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), FilterError> {
    let mut s = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => return Err(FilterError { message: "unterminated quoted text".into(), at: open }),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

fn guid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let shaped =
        b.len() == 36 && b.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() });
    shaped.then(|| s.to_ascii_lowercase())
}

fn datetime(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"].iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some((Token::Ident(w), _)) if w == word)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.tokens.get(self.pos), Some((Token::Open, _))) {
            let open = self.at();
            self.pos += 1;
            let inner = self.or_expr()?;
            return match self.tokens.get(self.pos) {
                Some((Token::Close, _)) => {
                    self.pos += 1;
                    Ok(inner)
                }
                _ => Err(FilterError { message: "unclosed '('".into(), at: open }),
            };
        }
        let left = self.operand()?;
        let at = self.at();
        let op = match self.tokens.get(self.pos) {
            Some((Token::Ident(w), _)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => return Err(FilterError { message: format!("expected a comparison operator, found '{other}'"), at }),
            },
            Some((tok, _)) => {
                return Err(FilterError { message: format!("expected a comparison operator, found {}", tok.describe()), at });
            }
            None => return Err(FilterError { message: "expected a comparison operator, found the end".into(), at }),
        };
        self.pos += 1;
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let at = self.at();
        match self.tokens.get(self.pos).cloned() {
            Some((Token::Ident(w), _)) if !matches!(w.as_str(), "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le") => {
                self.pos += 1;
                Ok(Operand::Property(w))
            }
            Some((Token::Literal(l), _)) => {
                self.pos += 1;
                Ok(Operand::Literal(l))
            }
            Some((tok, _)) => Err(FilterError { message: format!("expected a property or a literal, found {}", tok.describe()), at }),
            None => Err(FilterError { message: "expected a property or a literal, found the end".into(), at }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rec(pairs: &[(&str, Scalar<'static>)]) -> HashMap<String, Scalar<'static>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn passes(filter: &str, r: &HashMap<String, Scalar<'static>>) -> bool {
        Filter::parse(filter).unwrap().matches(|p| r.get(p).cloned().unwrap_or(Scalar::Null))
    }

    fn t(s: &str) -> Scalar<'static> {
        Scalar::Text(Cow::Owned(s.into()))
    }

    #[test]
    fn each_comparison_operator_compares_numbers() {
        let r = rec(&[("СуммаДокумента", Scalar::Number(1234.5))]);
        assert!(passes("СуммаДокумента eq 1234.5", &r));
        assert!(!passes("СуммаДокумента eq 1234", &r));
        assert!(passes("СуммаДокумента ne 1234", &r));
        assert!(!passes("СуммаДокумента ne 1234.5", &r));
        assert!(passes("СуммаДокумента gt 1000", &r));
        assert!(!passes("СуммаДокумента gt 1234.5", &r));
        assert!(passes("СуммаДокумента ge 1234.5", &r));
        assert!(passes("СуммаДокумента lt 1e4", &r));
        assert!(!passes("СуммаДокумента lt 1234.5", &r));
        assert!(passes("СуммаДокумента le 1234.5", &r));
        assert!(passes("СуммаДокумента gt -5", &r));
        assert!(passes("СуммаДокумента eq 1234.5M", &r));
    }

    #[test]
    fn booleans_and_texts_compare_by_value() {
        let r = rec(&[("IsFolder", Scalar::Bool(false)), ("ВидОперации", t("ОплатаПокупателя"))]);
        assert!(passes("IsFolder eq false", &r));
        assert!(!passes("IsFolder eq true", &r));
        assert!(passes("ВидОперации eq 'ОплатаПокупателя'", &r));
        assert!(!passes("ВидОперации eq 'ПрочееПоступление'", &r));
        assert!(passes("ВидОперации gt 'А'", &r));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_regroup() {
        let r = rec(&[("a", Scalar::Number(1.0)), ("b", Scalar::Number(2.0))]);
        // a eq 0 and b eq 0 or a eq 1  ==  (a eq 0 and b eq 0) or a eq 1
        assert!(passes("a eq 0 and b eq 0 or a eq 1", &r));
        assert!(!passes("a eq 0 and (b eq 0 or a eq 1)", &r));
        assert!(passes("a eq 1 and b eq 2", &r));
        assert!(!passes("a eq 1 and b eq 3", &r));
        assert!(passes("a eq 5 or b eq 2", &r));
        assert!(passes("not (a eq 5)", &r));
        assert!(!passes("not a eq 1", &r));
        assert!(passes("((a eq 1))", &r));
    }

    #[test]
    fn doubled_quotes_inside_text_literals_stand_for_one_quote() {
        let r = rec(&[("Description", t("ООО 'Ромашка'"))]);
        assert!(passes("Description eq 'ООО ''Ромашка'''", &r));
        assert_eq!(
            Filter::parse("Description eq 'it''s'").unwrap().root,
            Expr::Compare(Operand::Property("Description".into()), Op::Eq, Operand::Literal(Literal::Text("it's".into())))
        );
    }

    #[test]
    fn guid_literals_match_references_case_insensitively() {
        let r = rec(&[("Контрагент_Key", t("0000002a-ca01-4abc-8def-0123456789ab"))]);
        assert!(passes("Контрагент_Key eq guid'0000002A-CA01-4ABC-8DEF-0123456789AB'", &r));
        assert!(passes("Контрагент_Key ne guid'00000000-0000-0000-0000-000000000000'", &r));
        assert!(Filter::parse("Контрагент_Key eq guid'1234'").is_err());
    }

    #[test]
    fn datetime_literals_compare_with_dates_written_as_text_or_as_dates() {
        let text = rec(&[("Date", t("2025-03-15T10:30:00"))]);
        assert!(passes("Date ge datetime'2025-03-15T00:00:00'", &text));
        assert!(passes("Date lt datetime'2025-03-15T10:30:01'", &text));
        assert!(!passes("Date gt datetime'2025-03-15T10:30:00'", &text));
        assert!(passes("Date eq datetime'2025-03-15T10:30'", &text));
        let d = NaiveDateTime::parse_from_str("2025-03-15T10:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        let date = rec(&[("Date", Scalar::DateTime(d))]);
        assert!(passes("Date ge datetime'2025-03-15T00:00:00'", &date));
        assert!(!passes("Date ge datetime'2025-03-16T00:00:00'", &date));
        assert!(Filter::parse("Date ge datetime'2025-13-01T00:00:00'").is_err());
    }

    #[test]
    fn incomparable_values_fail_every_comparison_but_ne() {
        let r = rec(&[("Number", t("0000-000001"))]);
        assert!(!passes("Number eq 1", &r));
        assert!(passes("Number ne 1", &r));
        assert!(!passes("Missing eq 'x'", &r));
        assert!(passes("Missing eq null", &r));
    }

    #[test]
    fn properties_lists_each_name_once() {
        let f = Filter::parse("ВидОперации eq 'x' and (Date ge datetime'2025-01-01T00:00:00' or ВидОперации eq 'y')").unwrap();
        assert_eq!(f.properties(), vec!["ВидОперации", "Date"]);
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        for (text, at) in [
            ("IsFolder eq", 11),
            ("IsFolder false", 9),
            ("IsFolder eq false and", 21),
            ("(IsFolder eq false", 0),
            ("IsFolder eq false)", 17),
            ("Description eq 'open", 15),
            ("Date ge dt'2025-01-01'", 8),
            ("a eq 1 # b", 7),
            ("eq eq 1", 0),
        ] {
            let e = Filter::parse(text).expect_err(text);
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(!e.message.is_empty());
        }
    }
}

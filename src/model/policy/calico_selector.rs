//! Calico's selector expressions (`projectcalico.org/v3` `selector`,
//! `namespaceSelector`, rule `source.selector`, …):
//!
//! `all()`, `global()`, `k == 'v'`, `k != 'v'`, `has(k)`, `k in {'a', 'b'}`,
//! `k not in {…}`, `k contains 's'`, `k starts with 's'`, `k ends with 's'`,
//! combined with `!`, `&&`, `||` and parentheses. An empty expression is
//! `all()`. Calico's semantics for absent labels: `!=` and `not in` match,
//! every other comparison does not.

use super::super::selector::Labels;

/// Longest expression we parse: Calico's own selectors are a few hundred
/// bytes; this bounds the recursion a hostile input can cause.
const MAX_EXPRESSION_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    All,
    /// `global()`: non-namespaced endpoints (host endpoints, network sets).
    Global,
    Has(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// What is known of one label of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<'l> {
    Absent,
    Value(&'l str),
    /// Present, value unknown.
    Present,
    /// Present, with a value that is none of these (the name of a
    /// namespace other than the audited ones).
    NoneOf(&'l std::collections::BTreeSet<&'l str>),
    /// Nothing is known.
    Unknown,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, String> {
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(format!("selector longer than {MAX_EXPRESSION_BYTES} bytes"));
        }
        let mut parser = Parser { text, pos: 0 };
        parser.skip_space();
        if parser.at_end() {
            return Ok(Expr::All);
        }
        let expr = parser.or()?;
        parser.skip_space();
        if !parser.at_end() {
            return Err(format!(
                "unexpected `{}` at column {}",
                parser.rest_preview(),
                parser.pos + 1
            ));
        }
        Ok(expr)
    }

    /// Does the expression read a label other than these?
    pub fn reads_other_than(&self, keys: &[&str]) -> bool {
        self.reads_any(&|key| !keys.contains(&key))
    }

    /// The `key == 'value'` terms every object it matches must satisfy
    /// (those of a chain of `&&`; `in` one value counts).
    pub fn required_equalities(&self) -> Vec<(&str, &str)> {
        match self {
            Expr::Equals(k, v) => vec![(k, v)],
            Expr::In(k, values) if values.len() == 1 => vec![(k, &values[0])],
            Expr::And(a, b) => {
                let mut all = a.required_equalities();
                all.extend(b.required_equalities());
                all
            }
            _ => Vec::new(),
        }
    }

    /// Does the expression read label `key`?
    pub fn mentions(&self, key: &str) -> bool {
        self.reads_any(&|k| k == key)
    }

    /// Call `f` with every label the expression reads: its key, a value it
    /// compares the label to (`None`: none, as `has(k)`), and whether it
    /// reads more of the value than equality to such values (`contains`,
    /// `starts with`, `ends with`).
    pub fn each_label(&self, f: &mut dyn FnMut(&str, Option<&str>, bool)) {
        match self {
            Expr::All | Expr::Global => {}
            Expr::Has(k) => f(k, None, false),
            Expr::Equals(k, v) | Expr::NotEquals(k, v) => f(k, Some(v), false),
            Expr::In(k, values) | Expr::NotIn(k, values) => {
                f(k, None, false);
                values.iter().for_each(|v| f(k, Some(v), false));
            }
            Expr::Contains(k, _) | Expr::StartsWith(k, _) | Expr::EndsWith(k, _) => f(k, None, true),
            Expr::Not(e) => e.each_label(f),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.each_label(f);
                b.each_label(f);
            }
        }
    }

    /// Does the expression read a label that `wanted` says yes to?
    fn reads_any(&self, wanted: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Expr::All | Expr::Global => false,
            Expr::Has(k)
            | Expr::Equals(k, _)
            | Expr::NotEquals(k, _)
            | Expr::In(k, _)
            | Expr::NotIn(k, _)
            | Expr::Contains(k, _)
            | Expr::StartsWith(k, _)
            | Expr::EndsWith(k, _) => wanted(k),
            Expr::Not(e) => e.reads_any(wanted),
            Expr::And(a, b) | Expr::Or(a, b) => a.reads_any(wanted) || b.reads_any(wanted),
        }
    }

    /// Does the expression select every endpoint, whatever its labels?
    pub fn matches_all(&self) -> bool {
        matches!(self, Expr::All)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.decide(&|key| labels.get(key).map_or(Known::Absent, |v| Known::Value(v.as_str())))
            .unwrap_or(false)
    }

    /// Three-valued evaluation: `None` when the answer depends on labels
    /// that are not known.
    pub fn decide<'l>(&self, label: &dyn Fn(&str) -> Known<'l>) -> Option<bool> {
        let compare = |key: &str, test: &dyn Fn(&str) -> bool, when_absent: bool| match label(key) {
            Known::Absent => Some(when_absent),
            Known::Value(v) => Some(test(v)),
            Known::Present | Known::NoneOf(_) | Known::Unknown => None,
        };
        // `k == v` and `k in {…}` are false (their negations true) when the
        // value is known to be none of the listed ones.
        let excluded = |key: &str, values: &[&String]| match label(key) {
            Known::NoneOf(set) => values.iter().all(|v| set.contains(v.as_str())),
            _ => false,
        };
        match self {
            Expr::All => Some(true),
            Expr::Global => Some(false),
            Expr::Has(key) => match label(key) {
                Known::Absent => Some(false),
                Known::Value(_) | Known::Present | Known::NoneOf(_) => Some(true),
                Known::Unknown => None,
            },
            Expr::Equals(k, v) if excluded(k, &[v]) => Some(false),
            Expr::NotEquals(k, v) if excluded(k, &[v]) => Some(true),
            Expr::In(k, vs) if excluded(k, &vs.iter().collect::<Vec<_>>()) => Some(false),
            Expr::NotIn(k, vs) if excluded(k, &vs.iter().collect::<Vec<_>>()) => Some(true),
            Expr::Equals(k, v) => compare(k, &|x| x == v, false),
            Expr::NotEquals(k, v) => compare(k, &|x| x != v, true),
            Expr::In(k, vs) => compare(k, &|x| vs.iter().any(|v| v == x), false),
            Expr::NotIn(k, vs) => compare(k, &|x| !vs.iter().any(|v| v == x), true),
            Expr::Contains(k, s) => compare(k, &|x| x.contains(s.as_str()), false),
            Expr::StartsWith(k, s) => compare(k, &|x| x.starts_with(s.as_str()), false),
            Expr::EndsWith(k, s) => compare(k, &|x| x.ends_with(s.as_str()), false),
            Expr::Not(e) => e.decide(label).map(|b| !b),
            Expr::And(a, b) => match (a.decide(label), b.decide(label)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.decide(label), b.decide(label)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        }
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn rest_preview(&self) -> String {
        self.rest().chars().take(12).collect()
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    /// Consume `token` (after spaces) if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Consume a keyword (`in`, `not`, `contains`, …) followed by a non-key character.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_space();
        // Sliced only after the word: the text may go on with any
        // character, `ú` included (found by the `selectors` fuzz target).
        let Some(after) = self.rest().strip_prefix(word) else {
            return false;
        };
        if after.chars().next().is_none_or(|c| !is_key_char(c)) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{token}`")))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        if self.at_end() {
            format!("expected {wanted} at the end")
        } else {
            format!(
                "expected {wanted} at column {}, found `{}`",
                self.pos + 1,
                self.rest_preview()
            )
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        if self.eat_word("all") {
            self.expect("(")?;
            self.expect(")")?;
            return Ok(Expr::All);
        }
        if self.eat_word("global") {
            self.expect("(")?;
            self.expect(")")?;
            return Ok(Expr::Global);
        }
        if self.eat_word("has") {
            self.expect("(")?;
            let key = self.key()?;
            self.expect(")")?;
            return Ok(Expr::Has(key));
        }
        let key = self.key()?;
        if self.eat("==") {
            return Ok(Expr::Equals(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::NotEquals(key, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.eat_word("not") {
            if !self.eat_word("in") {
                return Err(self.unexpected("`in` after `not`"));
            }
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.eat_word("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.eat_word("starts") {
            if !self.eat_word("with") {
                return Err(self.unexpected("`with` after `starts`"));
            }
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.eat_word("ends") {
            if !self.eat_word("with") {
                return Err(self.unexpected("`with` after `ends`"));
            }
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        Err(self.unexpected("an operator (==, !=, in, not in, contains, starts with, ends with)"))
    }

    fn key(&mut self) -> Result<String, String> {
        self.skip_space();
        let len = self.rest().find(|c: char| !is_key_char(c)).unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.unexpected("a label key"));
        }
        let key = self.rest()[..len].to_string();
        self.pos += len;
        Ok(key)
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_space();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.unexpected("a quoted string")),
        };
        let body = &self.rest()[1..];
        let Some(end) = body.find(quote) else {
            return Err(format!("unterminated string at column {}", self.pos + 1));
        };
        let value = body[..end].to_string();
        self.pos += end + 2;
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        self.expect("{")?;
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            self.expect(",")?;
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn matches(expr: &str, pairs: &[(&str, &str)]) -> bool {
        Expr::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .matches(&labels(pairs))
    }

    #[test]
    fn every_operator_follows_calico() {
        let web = [("app", "web"), ("tier", "front")];
        assert!(matches("app == 'web'", &web));
        assert!(matches("app == \"web\"", &web));
        assert!(!matches("app == 'db'", &web));
        assert!(matches("app != 'db'", &web));
        assert!(matches("missing != 'x'", &web), "!= matches an absent label");
        assert!(matches("has(tier)", &web));
        assert!(!matches("has(zone)", &web));
        assert!(matches("!has(zone)", &web));
        assert!(matches("tier in {'front', 'back'}", &web));
        assert!(!matches("tier in {}", &web));
        assert!(matches("tier not in {'back'}", &web));
        assert!(matches("zone not in {'a'}", &web), "not in matches an absent label");
        assert!(!matches("zone in {'a'}", &web));
        assert!(matches("app contains 'e'", &web));
        assert!(matches("app starts with 'we'", &web));
        assert!(matches("app ends with 'eb'", &web));
        assert!(!matches("zone starts with 'a'", &web));
        assert!(matches("all()", &web));
        assert!(matches("", &web));
        assert!(!matches("global()", &web));
    }

    #[test]
    fn combinators_and_precedence() {
        let web = [("app", "web"), ("tier", "front")];
        assert!(matches("app == 'web' && tier == 'front'", &web));
        assert!(!matches("app == 'web' && tier == 'back'", &web));
        assert!(matches("app == 'db' || tier == 'front'", &web));
        // && binds tighter than ||.
        assert!(matches("app == 'db' && tier == 'x' || has(app)", &web));
        assert!(!matches("app == 'db' && (tier == 'x' || has(app))", &web));
        assert!(matches("!(app == 'db')", &web));
        assert!(matches("!!has(app)", &web));
        assert!(matches(
            "projectcalico.org/namespace == 'shop' || has(k8s-app)",
            &[("projectcalico.org/namespace", "shop")]
        ));
    }

    #[test]
    fn malformed_expressions_are_errors_with_a_position() {
        for bad in [
            "app = 'web'",
            "app == web",
            "app == 'web",
            "has(app",
            "(app == 'x'",
            "app in {'a' 'b'}",
            "app not 'x'",
            "app == 'x' &&",
            "&& app == 'x'",
            "app == 'x' )",
            "all",
            // A keyword is looked for after `appp`: `ú` is two bytes.
            "appp ú 'web'",
            "app ú",
        ] {
            let err = Expr::parse(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(Expr::parse(&"(".repeat(5000)).is_err());
    }

    #[test]
    fn unknown_labels_leave_the_answer_open() {
        let expr = Expr::parse("team == 'ops' || projectcalico.org/name == 'shop'").unwrap();
        let unknown = |_: &str| Known::Unknown;
        assert_eq!(expr.decide(&unknown), None);
        let named = |k: &str| {
            if k == "projectcalico.org/name" {
                Known::Value("shop")
            } else {
                Known::Unknown
            }
        };
        assert_eq!(expr.decide(&named), Some(true));
        let present = |k: &str| {
            if k == "projectcalico.org/name" {
                Known::Present
            } else {
                Known::Absent
            }
        };
        assert_eq!(
            Expr::parse("has(projectcalico.org/name)").unwrap().decide(&present),
            Some(true)
        );
        assert_eq!(expr.decide(&present), None);
    }
}

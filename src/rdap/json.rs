//! A small JSON writer: RDAP answers are written straight into one string
//! instead of being built as `serde_json::Value` trees (which cost a map
//! and an allocation per member, and most of a lookup's time).

use std::fmt::Write as _;

#[derive(Default)]
pub struct Json {
    out: String,
    comma: bool,
}

impl Json {
    pub fn with_capacity(bytes: usize) -> Self {
        Json { out: String::with_capacity(bytes), comma: false }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }

    /// An object: `{`, the members `body` writes, `}`. Objects and arrays are
    /// only written this way, so every document this writer makes is balanced.
    pub fn object(&mut self, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.separate();
        self.out.push('{');
        self.comma = false;
        body(self);
        self.out.push('}');
        self.comma = true;
        self
    }

    /// An array: `[`, the values `body` writes, `]`.
    pub fn array(&mut self, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.separate();
        self.out.push('[');
        self.comma = false;
        body(self);
        self.out.push(']');
        self.comma = true;
        self
    }

    /// A member name: always one of ours, so written without escaping.
    pub fn key(&mut self, key: &str) -> &mut Self {
        debug_assert!(!needs_escape(key), "{key}");
        self.separate();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.comma = false;
        self
    }

    pub fn string(&mut self, value: &str) -> &mut Self {
        self.separate();
        escape(&mut self.out, value);
        self.comma = true;
        self
    }

    pub fn number(&mut self, value: u64) -> &mut Self {
        self.separate();
        let mut digits = [0u8; 20];
        let (mut at, mut n) = (digits.len(), value);
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
        self.comma = true;
        self
    }

    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.separate();
        self.out.push_str(if value { "true" } else { "false" });
        self.comma = true;
        self
    }

    /// JSON written elsewhere: a whole value, or members inside an object
    /// (written by another writer at its top level).
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.separate();
        self.out.push_str(json);
        self.comma = true;
        self
    }

    /// One string made of `parts` (a URL from its pieces), without joining them first.
    pub fn concat(&mut self, parts: &[&str]) -> &mut Self {
        self.separate();
        self.out.push('"');
        for p in parts {
            escape_into(&mut self.out, p);
        }
        self.out.push('"');
        self.comma = true;
        self
    }

    pub fn timestamp(&mut self, at: crate::model::Timestamp) -> &mut Self {
        self.separate();
        self.out.push('"');
        at.write_rfc3339_seconds(&mut self.out);
        self.out.push('"');
        self.comma = true;
        self
    }

    /// A fragment rendered once, with `value` where its mark was.
    pub fn template(&mut self, template: &Template, value: &str) -> &mut Self {
        self.separate();
        let plain = !needs_escape(value);
        for (i, part) in template.parts.iter().enumerate() {
            if i > 0 {
                if plain {
                    self.out.push_str(value);
                } else {
                    escape_into(&mut self.out, value);
                }
            }
            self.out.push_str(part);
        }
        self.comma = true;
        self
    }

    pub fn field(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).string(value)
    }

    pub fn strings<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.array(|j| {
            for v in values {
                j.string(v);
            }
        })
    }
}

/// JSON written once with a mark string where a per-answer value goes.
pub struct Template {
    parts: Vec<String>,
}

impl Template {
    /// Splits `json` where `mark` (as a JSON string's content) was written.
    pub fn new(json: &str, mark: &str) -> Template {
        let mut escaped = String::new();
        escape_into(&mut escaped, mark);
        Template { parts: json.split(escaped.as_str()).map(String::from).collect() }
    }
}

/// Whether `text` has a byte JSON strings must escape: a control character, `"` or `\\`.
/// Every string of every answer passes here, so eight bytes are tested at a time.
fn needs_escape(text: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Non-zero exactly when some byte of `x` is below `n` (n <= 0x80).
    let any_below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let any_equal = |x: u64, b: u8| any_below(x ^ (ONES * u64::from(b)), 1);
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
        if any_below(x, 0x20) | any_equal(x, b'"') | any_equal(x, b'\\') != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn escape(out: &mut String, text: &str) {
    out.push('"');
    escape_into(out, text);
    out.push('"');
}

fn escape_into(out: &mut String, text: &str) {
    if !needs_escape(text) {
        out.push_str(text);
        return;
    }
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if replacement.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(replacement);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let mut j = Json::default();
        j.object(|j| {
            j.field("a", "x\"y\\z\n\u{1}é").key("n").number(5).key("big").number(u64::MAX).key("zero").number(0);
            j.key("list").strings(["p", "q"]).key("empty").array(|_| {});
            j.key("nested").object(|j| {
                j.key("t").boolean(true);
            });
            j.key("raw").raw("[1,2]");
        });
        let text = j.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}é");
        assert_eq!(v["list"][1], "q");
        assert_eq!(v["nested"]["t"], true);
        assert_eq!((v["n"].as_u64(), v["big"].as_u64(), v["zero"].as_u64()), (Some(5), Some(u64::MAX), Some(0)));
        assert_eq!(v["raw"][1], 2);
        assert_eq!(v["empty"], serde_json::json!([]));
    }

    #[test]
    fn finds_every_byte_that_needs_escaping_wherever_it_is() {
        let simple = |t: &str| t.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 0..20 {
            let base: String = "abcdefghijklmnopqrstuvwxyz".chars().cycle().take(len).collect();
            assert!(!needs_escape(&base));
            assert!(!needs_escape(&format!("{base}é\u{7f}~!#")));
            for at in 0..len {
                for special in ['"', '\\', '\u{0}', '\n', '\u{1f}', ' ', 'é', '\u{7f}'] {
                    let mut text = base.clone();
                    text.replace_range(at..at + 1, &special.to_string());
                    assert_eq!(needs_escape(&text), simple(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn templates_take_the_value_where_the_mark_was() {
        let mark = "\u{1}mark\u{1}";
        let mut once = Json::default();
        once.key("links").array(|j| {
            j.object(|j| {
                j.field("value", mark).field("href", "h");
            })
            .string(mark);
        });
        let template = Template::new(&once.finish(), mark);
        let mut j = Json::default();
        j.object(|j| {
            j.field("a", "b").template(&template, "x\"y");
        });
        let v: serde_json::Value = serde_json::from_str(&j.finish()).unwrap();
        assert_eq!(v["links"][0]["value"], "x\"y");
        assert_eq!(v["links"][1], "x\"y");
        assert_eq!(v["a"], "b");
    }
}

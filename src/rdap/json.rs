//! A small JSON writer: RDAP answers are written straight into one string
//! instead of being built as `serde_json::Value` trees (which cost a map
//! and an allocation per member, and most of a lookup's time).

use std::fmt::Display;
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

    pub fn open(&mut self) -> &mut Self {
        self.separate();
        self.out.push('{');
        self.comma = false;
        self
    }

    pub fn close(&mut self) -> &mut Self {
        self.out.push('}');
        self.comma = true;
        self
    }

    pub fn open_array(&mut self) -> &mut Self {
        self.separate();
        self.out.push('[');
        self.comma = false;
        self
    }

    pub fn close_array(&mut self) -> &mut Self {
        self.out.push(']');
        self.comma = true;
        self
    }

    pub fn key(&mut self, key: &str) -> &mut Self {
        self.separate();
        escape(&mut self.out, key);
        self.out.push(':');
        self.comma = false;
        self
    }

    pub fn string(&mut self, value: &str) -> &mut Self {
        self.separate();
        escape(&mut self.out, value);
        self.comma = true;
        self
    }

    /// A number or boolean (anything whose `Display` is valid JSON).
    pub fn literal(&mut self, value: impl Display) -> &mut Self {
        self.separate();
        let _ = write!(self.out, "{value}");
        self.comma = true;
        self
    }

    /// A value written elsewhere (a whole object or array).
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

    pub fn field(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).string(value)
    }

    pub fn strings<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.open_array();
        for v in values {
            self.string(v);
        }
        self.close_array()
    }
}

fn escape(out: &mut String, text: &str) {
    out.push('"');
    escape_into(out, text);
    out.push('"');
}

fn escape_into(out: &mut String, text: &str) {
    if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
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
        j.open().field("a", "x\"y\\z\n\u{1}é").key("n").literal(5).key("list").strings(["p", "q"]);
        j.key("nested").open().key("t").literal(true).close().key("raw").raw("[1,2]").close();
        let text = j.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}é");
        assert_eq!(v["list"][1], "q");
        assert_eq!(v["nested"]["t"], true);
        assert_eq!(v["raw"][1], 2);
    }
}

//! How values travel as text: JSON in ASCII only.
//!
//! The UI's hydration data is written into each page as a Rust `{:?}` string
//! literal, whose escaping is fast for ASCII and slow for any other
//! character (a walk of the standard library's printable-character tables).
//! JSON with every non-ASCII character written as a `\uXXXX` escape reads
//! back the same in any JSON reader.

use serde::Serialize;
use std::io::{self, Write};

/// `val` as JSON with every character outside ASCII escaped.
pub fn to_ascii_json<T: Serialize + ?Sized>(val: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(1024);
    val.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        AsciiFormatter,
    ))?;
    // Every byte written is ASCII (string fragments are escaped below; the
    // rest of JSON's syntax is ASCII), so this cannot fail.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// serde_json's compact formatter, but a string fragment's non-ASCII
/// characters are written as UTF-16 `\uXXXX` escapes.
struct AsciiFormatter;

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let nibble = |shift: u16| HEX[usize::from((*unit >> shift) & 0xf)];
                writer.write_all(&[b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)])?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_ascii_and_reads_back_the_same() {
        let value = serde_json::json!({
            "description": "距桃園草漯約 15 公里處斷纜",
            "emoji": "cable 🌊 cut",
            "quote": "a \"quoted\" \\ </script> line\nand a tab\t",
            "n": [1, 2.5, null, true],
        });
        let text = to_ascii_json(&value).expect("encodes");
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains("\\u8ddd"), "{text}");
        // A character outside the basic plane is a surrogate pair.
        assert!(text.contains("\\ud83c\\udf0a"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("decodes");
        assert_eq!(back, value);
    }

    #[test]
    fn ascii_text_is_written_as_plain_json_writes_it() {
        let value = ("TDM3", 15, Some("2026-04"), "a \"b\" c");
        assert_eq!(
            to_ascii_json(&value).expect("encodes"),
            serde_json::to_string(&value).expect("encodes")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_in_ascii(s in "\\PC*", t in proptest::collection::vec(proptest::char::any(), 0..40)) {
            let t: String = t.into_iter().collect();
            let value = (s, t);
            let text = to_ascii_json(&value).expect("encodes");
            proptest::prop_assert!(text.is_ascii());
            let back: (String, String) = serde_json::from_str(&text).expect("decodes");
            proptest::prop_assert_eq!(back, value);
        }
    }
}

//! How a page's data travels inside the page for hydration.
//!
//! Leptos writes each resource's encoded value into the page as a Rust
//! `{:?}` string literal. That escaping runs character by character, and for
//! a character outside ASCII it walks the standard library's printable-
//! character tables: on the fault list with 200 faults it was an eighth of the
//! server's CPU. [`AsciiJson`] is JSON with every non-ASCII character written
//! as a `\uXXXX` escape, so the escaping stays on its ASCII fast path; any
//! JSON reader (the browser's `serde_json` included) decodes it unchanged
//! (the encoding and its tests are in `shared::wire`).

use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::wire::to_ascii_json;

/// JSON in ASCII only: the codec of the pages' largest resources.
pub struct AsciiJson;

impl<T: Serialize> Encoder<T> for AsciiJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        to_ascii_json(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for AsciiJson {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(val)
    }
}

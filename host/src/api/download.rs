//! Files the API serves: the `Content-Disposition` that names them (RFC 6266).

use axum::http::HeaderValue;

/// `attachment` (or `inline`) naming the file twice, per RFC 6266: `filename*` with the
/// exact name in UTF-8, percent-encoded (RFC 8187), and, for clients that do not read
/// it, an ASCII-only `filename` in which every character that is not printable ASCII —
/// and `"`, `\` and `%`, which some clients would misread — is replaced by `_`. Always a
/// valid header value, whatever the name holds (quotes, line breaks, NUL, Cyrillic).
pub fn content_disposition(disposition: &str, name: &str) -> HeaderValue {
    let ascii: String = name.chars().map(|c| if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%') { c } else { '_' }).collect();
    let mut encoded = String::with_capacity(name.len());
    for b in name.bytes() {
        // RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_named_in_utf8_and_as_safe_ascii() {
        let v = content_disposition("attachment", "Счёт \"№1\"\r\n%41;x.pdf");
        assert_eq!(
            v.to_str().unwrap_or_default(),
            "attachment; filename=\"____ __1____41;x.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%22%E2%84%961%22%0D%0A%2541%3Bx.pdf"
        );
    }
}

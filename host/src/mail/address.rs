//! E-mail addresses as people type them: `debt@romashka.ru` or
//! `ООО «Ромашка» <debt@romashka.ru>`. Strict enough that nothing odd reaches a mail
//! header (no line breaks, no second address), lenient about display names.

/// A parsed mailbox: an optional display name and the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// Parses `addr` or `Name <addr>`; the error says what is wrong, in English, for a field.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    let s = s.trim();
    if s.chars().any(|c| c.is_control()) {
        return Err("must not contain line breaks or control characters".into());
    }
    let (name, address) = match (s.rfind('<'), s.ends_with('>')) {
        (Some(open), true) => {
            let name = s[..open].trim().trim_matches('"').trim();
            (Some(name).filter(|n| !n.is_empty()).map(str::to_string), &s[open + 1..s.len() - 1])
        }
        (None, false) => (None, s),
        _ => return Err("must be `addr@example.ru` or `Name <addr@example.ru>`".into()),
    };
    check_address(address)?;
    Ok(Mailbox { name, address: address.to_string() })
}

/// `local@domain`: one `@`, no spaces or angle brackets, a dotted domain.
pub fn check_address(a: &str) -> Result<(), String> {
    let bad = || Err(format!("`{a}` is not an e-mail address (expected local@domain)"));
    if a.len() > 254 || a.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"')) {
        return bad();
    }
    let Some((local, domain)) = a.split_once('@') else { return bad() };
    if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_read_as_people_write_them() {
        assert_eq!(parse_mailbox("debt@romashka.ru").unwrap().address, "debt@romashka.ru");
        let m = parse_mailbox("ООО «Ромашка» <debt@romashka.ru>").unwrap();
        assert_eq!((m.name.as_deref(), m.address.as_str()), (Some("ООО «Ромашка»"), "debt@romashka.ru"));
        assert_eq!(parse_mailbox("\"Иванов И.\" <i@x.ru>").unwrap().name.as_deref(), Some("Иванов И."));
        for bad in ["", "debt", "a@b", "a@@b.ru", "a b@c.ru", "x <a@b.ru", "a@b.ru\r\nBcc: c@d.ru", "a@b.ru, c@d.ru", "@b.ru"] {
            assert!(parse_mailbox(bad).is_err(), "{bad:?}");
        }
    }
}

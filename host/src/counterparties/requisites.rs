//! Check digits of Russian registration numbers (ИНН, ОГРН, ОГРНИП), the shape of КПП,
//! and the control key of bank accounts against the BIC. Rules:
//! `shared/reference/inn-ogrn-kpp-rules.md`.

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11 % 10
}

/// Why a requisite is invalid, worded for the user.
pub type Invalid = &'static str;

/// ИНН of an organisation (10 digits) or of a person / sole proprietor (12 digits).
pub fn check_inn(inn: &str) -> Result<(), Invalid> {
    let d = digits(inn).ok_or("must contain digits only")?;
    match d.len() {
        10 => {
            (weighted(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]).then_some(()).ok_or("check digit does not match")
        }
        12 => {
            let c11 = weighted(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            let c12 = weighted(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            (c11 == d[10] && c12 == d[11]).then_some(()).ok_or("check digits do not match")
        }
        _ => Err("must have 10 digits (an organisation) or 12 digits (a person)"),
    }
}

/// ОГРН (13 digits, legal entities) or ОГРНИП (15 digits, sole proprietors). The error
/// is a whole sentence naming which of the two it is about (callers add no prefix).
pub fn check_ogrn(ogrn: &str) -> Result<(), Invalid> {
    let d = digits(ogrn).filter(|d| !d.is_empty()).ok_or("ОГРН or ОГРНИП must contain digits only")?;
    let n: u64 = ogrn[..ogrn.len() - 1].parse().unwrap_or(0);
    let last = d[d.len() - 1] as u64;
    match d.len() {
        13 => {
            if d[0] == 0 {
                return Err("ОГРН must not start with 0");
            }
            (n % 11 % 10 == last).then_some(()).ok_or("ОГРН check digit does not match")
        }
        15 => {
            if !matches!(d[0], 3 | 4) {
                return Err("ОГРНИП must start with 3 or 4");
            }
            (n % 13 % 10 == last).then_some(()).ok_or("ОГРНИП check digit does not match")
        }
        _ => Err("ОГРН or ОГРНИП must have 13 digits (ОГРН) or 15 digits (ОГРНИП)"),
    }
}

/// КПП: 4 digits, 2 digits or capital Latin letters, 3 digits.
pub fn check_kpp(kpp: &str) -> Result<(), Invalid> {
    let b = kpp.as_bytes();
    let ok = b.len() == 9
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..6].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[6..].iter().all(u8::is_ascii_digit);
    ok.then_some(()).ok_or("must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits")
}

/// БИК: 9 digits.
pub fn check_bic(bic: &str) -> Result<(), Invalid> {
    (bic.len() == 9 && bic.bytes().all(|c| c.is_ascii_digit())).then_some(()).ok_or("must have 9 digits")
}

fn account_key_ok(prefix: &str, account: &str) -> bool {
    const W: [u32; 3] = [7, 1, 3];
    let Some(d) = digits(&format!("{prefix}{account}")) else { return false };
    d.iter().enumerate().map(|(i, x)| x * W[i % 3]).sum::<u32>() % 10 == 0
}

/// Settlement account (20 digits) checked against the bank's BIC.
pub fn check_account(account: &str, bic: &str) -> Result<(), Invalid> {
    if account.len() != 20 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err("must have 20 digits");
    }
    account_key_ok(&bic[6..9], account).then_some(()).ok_or("control key does not match the bank's BIC")
}

/// Correspondent account (20 digits) checked against the bank's BIC.
pub fn check_corr_account(account: &str, bic: &str) -> Result<(), Invalid> {
    if account.len() != 20 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err("must have 20 digits");
    }
    account_key_ok(&format!("0{}", &bic[4..6]), account).then_some(()).ok_or("control key does not match the bank's BIC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_inns_pass_and_a_changed_digit_fails() {
        for inn in ["7719402047", "7707083893", "0108003670", "0725015149", "005826107187", "781303761704", "7728437776"] {
            assert_eq!(check_inn(inn), Ok(()), "{inn}");
        }
        assert!(check_inn("7719402048").is_err());
        assert!(check_inn("781303761705").is_err());
        assert!(check_inn("77194020").is_err());
        assert!(check_inn("77194020a7").is_err());
    }

    #[test]
    fn ogrn_and_ogrnip_use_mod_11_and_mod_13_last_digit() {
        assert_eq!(check_ogrn("1157746078984"), Ok(()));
        assert_eq!(check_ogrn("1027700132195"), Ok(()));
        assert_eq!(check_ogrn("1187746709358"), Ok(()));
        assert!(check_ogrn("1157746078985").is_err());
        // Remainder 10 → check digit 0 (python-stdnum gets this one wrong).
        assert_eq!(check_ogrn("325784700338340"), Ok(()));
        assert!(check_ogrn("525784700338340").is_err());
        // Errors are whole sentences naming which number they are about.
        assert_eq!(check_ogrn("525784700338340"), Err("ОГРНИП must start with 3 or 4"));
        assert_eq!(check_ogrn("1157746078985"), Err("ОГРН check digit does not match"));
        assert_eq!(check_ogrn("12345"), Err("ОГРН or ОГРНИП must have 13 digits (ОГРН) or 15 digits (ОГРНИП)"));
        assert_eq!(check_ogrn("12a45"), Err("ОГРН or ОГРНИП must contain digits only"));
    }

    #[test]
    fn kpp_allows_letters_in_the_reason_code() {
        assert_eq!(check_kpp("773101001"), Ok(()));
        assert_eq!(check_kpp("5027AB001"), Ok(()));
        assert!(check_kpp("5027ab001").is_err());
        assert!(check_kpp("77310100").is_err());
    }

    #[test]
    fn bank_accounts_are_checked_against_the_bic() {
        // Sberbank, Moscow: BIC 044525225, correspondent account 30101810400000000225.
        assert_eq!(check_corr_account("30101810400000000225", "044525225"), Ok(()));
        assert!(check_corr_account("30101810400000000226", "044525225").is_err());
        assert_eq!(check_account("40702810938000000001", "044525225"), Ok(()));
        assert!(check_account("40702810838000000001", "044525225").is_err());
    }
}

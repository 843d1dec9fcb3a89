//! ИНН check digits (see `shared/reference/inn-ogrn-kpp-rules.md`): 10 digits for an
//! organisation, 12 for an individual (a sole proprietor).

const W10: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn check(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| u32::from(*d) * w).sum();
    (sum % 11 % 10) as u8
}

/// An organisation's 10-digit ИНН whose first nine digits are `prefix` (0…999 999 999),
/// as ASCII digits.
pub fn inn10(prefix: u64) -> [u8; 10] {
    let mut d = [0u8; 10];
    let mut n = prefix % 1_000_000_000;
    for slot in d[..9].iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    d[9] = check(&d[..9], &W10);
    d.map(|x| b'0' + x)
}

/// An individual's 12-digit ИНН whose first ten digits are `prefix` (0…9 999 999 999),
/// as ASCII digits.
pub fn inn12(prefix: u64) -> [u8; 12] {
    let mut d = [0u8; 12];
    let mut n = prefix % 10_000_000_000;
    for slot in d[..10].iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    d[10] = check(&d[..10], &W11);
    d[11] = check(&d[..11], &W12);
    d.map(|x| b'0' + x)
}

/// Whether `inn` is 10 or 12 digits with correct check digits.
pub fn is_valid(inn: &str) -> bool {
    let b = inn.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: Vec<u8> = b.iter().map(|c| c - b'0').collect();
    match d.len() {
        10 => check(&d[..9], &W10) == d[9],
        12 => check(&d[..10], &W11) == d[10] && check(&d[..11], &W12) == d[11],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_real_inns_validate() {
        // From python-stdnum's tests and public registers (see the rules file).
        for inn in ["7707083893", "0108003670", "0725015149", "005826107187"] {
            assert!(is_valid(inn), "{inn}");
        }
        assert!(!is_valid("7707083894"));
        assert!(!is_valid("005826107188"));
        assert!(!is_valid("77070838"));
    }

    #[test]
    fn built_inns_carry_the_real_check_digits() {
        assert_eq!(&inn10(770708389), b"7707083893");
        assert_eq!(&inn10(10800367), b"0108003670");
        assert_eq!(&inn12(58261071), b"005826107187");
    }
}

//! A fee rule (test guest): the agency earns `percent` of each payment, rounded half up
//! to kopecks, at most `cap` per payment. Exact decimal arithmetic on kopecks; the
//! result explains itself step by step.

use crm_plugin_sdk::fees::{Fee, FeeStep, Payment};
use crm_plugin_sdk::{Error, FeeRule, config};

struct PercentFee;

/// A decimal string as an integer and a power-of-ten scale: `"12.5"` → (125, 1).
fn decimal(field: &str, s: &str) -> Result<(i128, u32), Error> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 6 || int.len() > 18 {
        return Err(Error::InvalidInput(format!("{field} `{s}` is not a decimal number")));
    }
    let mut v: i128 = format!("{int}{frac}").parse().map_err(|_| Error::InvalidInput(format!("{field} `{s}` is too large")))?;
    if neg {
        v = -v;
    }
    Ok((v, frac.len() as u32))
}

fn kopecks(field: &str, s: &str) -> Result<i128, Error> {
    let (v, scale) = decimal(field, s)?;
    if scale > 2 {
        return Err(Error::InvalidInput(format!("{field} `{s}` has more than two decimals")));
    }
    Ok(v * 10_i128.pow(2 - scale))
}

fn rubles(k: i128) -> String {
    let sign = if k < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", k.abs() / 100, k.abs() % 100)
}

fn shown(k: i128) -> String {
    rubles(k).replace('.', ",")
}

impl FeeRule for PercentFee {
    fn compute(payments: Vec<Payment>) -> Result<Vec<Fee>, Error> {
        let percent_text = config::get_str("percent")?.ok_or_else(|| Error::Misconfigured("setting `percent` is not set".into()))?;
        let (percent, scale) = decimal("percent", &percent_text).map_err(|e| Error::Misconfigured(e.message().to_owned()))?;
        let cap = match config::get_str("cap")?.filter(|c| !c.trim().is_empty()) {
            Some(c) => Some(kopecks("cap", &c).map_err(|e| Error::Misconfigured(e.message().to_owned()))?),
            None => None,
        };
        let divisor = 100 * 10_i128.pow(scale);
        payments
            .into_iter()
            .map(|p| {
                let amount = kopecks("amount", &p.amount)?;
                // Half up, away from zero.
                let raw = amount * percent;
                let fee = (raw + raw.signum() * divisor / 2) / divisor;
                let mut steps = vec![FeeStep {
                    code: "percent".into(),
                    label: format!("{} % от платежа {} руб.", percent_text.trim().replace('.', ","), shown(amount)),
                    base: Some(rubles(amount)),
                    rate_percent: Some(percent_text.trim().to_owned()),
                    amount: rubles(fee),
                }];
                let mut total = fee;
                if let Some(cap) = cap.filter(|c| fee > *c) {
                    steps.push(FeeStep {
                        code: "cap".into(),
                        label: format!("не более {} руб. за один платёж", shown(cap)),
                        base: None,
                        rate_percent: None,
                        amount: rubles(cap - fee),
                    });
                    total = cap;
                }
                let explanation = steps.iter().map(|s| s.label.clone()).collect::<Vec<_>>().join("; ");
                Ok(Fee { payment_id: p.id, amount: rubles(total), explanation: format!("{explanation}: {} руб.", shown(total)), steps })
            })
            .collect()
    }
}

crm_plugin_sdk::export_fee_rule!(PercentFee);

//! One template for both lists: the columns the import knows, and each data row read
//! into a lead or a rejection that names the row, the column and the reason.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::counterparties::model::CounterpartyKind;
use crate::counterparties::requisites::check_inn;
use crate::tenancy::UserId;

use super::model::{LeadStatus, RowError};
use super::sheet::{Cell, Table, normalize};

/// A column of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Inn,
    Name,
    Manager,
    Status,
    Segment,
    Contact,
    Phone,
    Email,
    Amount,
    CallOn,
}

/// The headers each column is recognised by (lower case; the first is the template's).
pub const HEADERS: &[(Column, &[&str])] = &[
    (Column::Inn, &["инн"]),
    (Column::Name, &["наименование", "название", "клиент", "компания", "организация"]),
    (Column::Manager, &["ответственный", "менеджер", "ответственный менеджер"]),
    (Column::Status, &["статус"]),
    (Column::Segment, &["сегмент"]),
    (Column::Contact, &["контактное лицо", "фио", "контакт"]),
    (Column::Phone, &["телефон", "тел."]),
    (Column::Email, &["e-mail", "email", "эл. почта", "электронная почта", "почта"]),
    (Column::Amount, &["сумма", "лимит", "сумма сделки"]),
    (Column::CallOn, &["дата звонка", "дата", "дата контакта"]),
];

/// Where each known column is in a table.
#[derive(Debug, Default)]
pub struct Layout {
    at: Vec<(Column, usize, String)>,
}

impl Layout {
    pub fn of(table: &Table) -> Layout {
        let mut at = Vec::new();
        for (i, h) in table.headers.iter().enumerate() {
            let key = h.to_lowercase();
            if let Some((col, _)) = HEADERS.iter().find(|(c, names)| names.contains(&key.as_str()) && !at.iter().any(|(a, _, _)| a == c)) {
                at.push((*col, i, h.clone()));
            }
        }
        Layout { at }
    }

    fn find(&self, col: Column) -> Option<(usize, &str)> {
        self.at.iter().find(|(c, _, _)| *c == col).map(|(_, i, h)| (*i, h.as_str()))
    }

    pub fn has(&self, col: Column) -> bool {
        self.find(col).is_some()
    }
}

/// A user a row may name as responsible.
#[derive(Debug, Clone)]
pub struct Manager {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
}

/// A row read into what the import needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub row: u32,
    pub inn: String,
    pub kind: CounterpartyKind,
    pub name: Option<String>,
    /// `None`: the person importing.
    pub responsible: Option<UserId>,
    /// Index into the settings' statuses.
    pub status: usize,
    pub segment: Option<String>,
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub amount: Option<Decimal>,
    pub call_on: Option<NaiveDate>,
}

fn text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Empty => None,
        Cell::Text(s) => Some(normalize(s)).filter(|s| !s.is_empty()),
        Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(format!("{}", *n as i64)),
        Cell::Number(n) => Some(n.to_string()),
        Cell::Date(d) => Some(d.format("%d.%m.%Y").to_string()),
    }
}

/// The ИНН in a cell: a number cell has lost a leading zero (a 9- or 11-digit number is
/// a 10- or 12-digit ИНН starting with 0); spaces are ignored.
fn inn_of(cell: &Cell) -> Result<String, String> {
    let raw = match cell {
        Cell::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n < 1e13 => {
            let s = format!("{}", *n as u64);
            match s.len() {
                9 | 11 => format!("0{s}"),
                _ => s,
            }
        }
        other => text(other).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect(),
    };
    if raw.is_empty() {
        return Err("не указан ИНН".into());
    }
    if !raw.chars().all(|c| c.is_ascii_digit()) || !(raw.len() == 10 || raw.len() == 12) {
        return Err(format!("ИНН «{raw}» должен состоять из 10 цифр (организация) или 12 цифр (ИП)"));
    }
    check_inn(&raw).map_err(|_| format!("ИНН «{raw}»: не сходится контрольное число — проверьте цифры"))?;
    Ok(raw)
}

/// A date as a date cell, an Excel serial number, or text `ДД.ММ.ГГГГ` / `ГГГГ-ММ-ДД`.
fn date_of(cell: &Cell) -> Result<Option<NaiveDate>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(*d)),
        Cell::Number(n) if *n >= 1.0 && *n < 2_958_466.0 => Ok(super::sheet::serial_date(*n)),
        other => {
            let s = text(other).unwrap_or_default();
            if s.is_empty() {
                return Ok(None);
            }
            ["%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(&s, f).ok())
                .map(Some)
                .ok_or_else(|| format!("«{s}» — не дата; напишите ДД.ММ.ГГГГ"))
        }
    }
}

/// An amount as a number cell or text such as `1 500 000,50`.
fn amount_of(cell: &Cell) -> Result<Option<Decimal>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Number(n) => Decimal::try_from(*n).map(|d| Some(d.round_dp(2))).map_err(|_| format!("«{n}» — не сумма")),
        other => {
            let s = text(other).unwrap_or_default();
            let cleaned: String = s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '₽').map(|c| if c == ',' { '.' } else { c }).collect();
            if cleaned.is_empty() {
                return Ok(None);
            }
            cleaned.parse::<Decimal>().ok().filter(|d| !d.is_sign_negative()).map(Some).ok_or_else(|| format!("«{s}» — не сумма; напишите, например, 1 500 000,00"))
        }
    }
}

/// Reads data row `row` (its cells `cells`) of a table laid out as `layout`.
pub fn read(row: u32, cells: &[Cell], layout: &Layout, statuses: &[LeadStatus], managers: &[Manager]) -> Result<Lead, RowError> {
    let cell = |col: Column| layout.find(col).map(|(i, h)| (cells.get(i).unwrap_or(&Cell::Empty), h));
    let fail = |col: Option<&str>, reason: String| RowError { row, column: col.map(str::to_owned), reason };
    let (inn_cell, inn_header) = cell(Column::Inn).expect("the header names the ИНН column");
    let inn = inn_of(inn_cell).map_err(|r| fail(Some(inn_header), r))?;
    let kind = if inn.len() == 10 { CounterpartyKind::LegalEntity } else { CounterpartyKind::SoleProprietor };
    let get = |col: Column| cell(col).and_then(|(c, _)| text(c));
    let responsible = match cell(Column::Manager) {
        Some((c, h)) => match text(c) {
            None => None,
            Some(who) => {
                let key = who.to_lowercase();
                let found = managers.iter().find(|m| m.email.to_lowercase() == key || m.full_name.to_lowercase() == key);
                Some(found.map(|m| m.id).ok_or_else(|| fail(Some(h), format!("нет такого пользователя: «{who}» — укажите e-mail или ФИО сотрудника, как в списке пользователей")))?)
            }
        },
        None => None,
    };
    let status = match cell(Column::Status) {
        Some((c, h)) => match text(c) {
            None => 0,
            Some(s) => statuses.iter().position(|st| st.name.to_lowercase() == s.to_lowercase()).ok_or_else(|| {
                let known: Vec<_> = statuses.iter().map(|s| format!("«{}»", s.name)).collect();
                fail(Some(h), format!("неизвестный статус «{s}»; допустимы: {}", known.join(", ")))
            })?,
        },
        None => 0,
    };
    let call_on = match cell(Column::CallOn) {
        Some((c, h)) => date_of(c).map_err(|r| fail(Some(h), r))?,
        None => None,
    };
    let amount = match cell(Column::Amount) {
        Some((c, h)) => amount_of(c).map_err(|r| fail(Some(h), r))?,
        None => None,
    };
    let email = get(Column::Email);
    if let (Some(e), Some((_, h))) = (&email, cell(Column::Email))
        && !e.contains('@')
    {
        return Err(fail(Some(h), format!("«{e}» — не адрес электронной почты")));
    }
    Ok(Lead {
        row,
        inn,
        kind,
        name: get(Column::Name),
        responsible,
        status,
        segment: get(Column::Segment),
        contact: get(Column::Contact),
        phone: get(Column::Phone),
        email,
        amount,
        call_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inn_read_as_a_number_gets_its_leading_zero_back() {
        // 0274062111 (Башкирская содовая компания's ИНН style, valid check digit) as a number.
        assert_eq!(inn_of(&Cell::Number(7707083893.0)).unwrap(), "7707083893");
        let lost = inn_of(&Cell::Number(274062111.0));
        assert!(lost.as_ref().map(|s| s.len() == 10 && s.starts_with('0')).unwrap_or_else(|e| e.contains("0274062111")), "{lost:?}");
        assert!(inn_of(&Cell::Text("7707083894".into())).unwrap_err().contains("контрольное"));
    }

    #[test]
    fn dates_come_as_excel_serials_date_cells_and_text() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7);
        assert_eq!(date_of(&Cell::Number(46363.0)).unwrap(), d);
        assert_eq!(date_of(&Cell::Text("07.12.2026".into())).unwrap(), d);
        assert_eq!(date_of(&Cell::Text("2026-12-07".into())).unwrap(), d);
        assert!(date_of(&Cell::Text("завтра".into())).is_err());
    }

    #[test]
    fn amounts_are_read_the_russian_way() {
        assert_eq!(amount_of(&Cell::Text("1 500 000,50".into())).unwrap(), Some(Decimal::new(150000050, 2)));
        assert!(amount_of(&Cell::Text("много".into())).is_err());
    }
}

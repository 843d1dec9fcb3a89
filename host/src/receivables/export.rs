//! "Owed to us" as a file: XLSX (numbers as numbers, dates as dates, totals, a frozen
//! header) or CSV for Excel with Russian settings (`;`, decimal comma, UTF-8 BOM).

use rust_xlsxwriter::{DocProperties, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::money::Money;

use super::aging::AgingReport;
use super::model::Severity;

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::None => "",
        Severity::Overdue => "просрочка до 30 дн.",
        Severity::Serious => "просрочка 31–90 дн.",
        Severity::Critical => "просрочка свыше 90 дн.",
    }
}

/// Rubles as a spreadsheet number (exact to the kopeck for any realistic amount: an
/// `f64` holds 15 significant digits).
fn number(m: Money) -> f64 {
    m.minor() as f64 / 100.0
}

/// The report as an XLSX workbook.
pub fn xlsx(r: &AgingReport) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    // Dated by the report, not the clock: the same report is the same file.
    wb.set_properties(&DocProperties::new().set_title("Дебиторская задолженность").set_creation_datetime(&r.as_of));
    let ws = wb.add_worksheet();
    ws.set_name("Дебиторская задолженность")?;
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Center).set_align(FormatAlign::VerticalCenter).set_border(FormatBorder::Thin).set_background_color("#E7EEF7");
    let money = Format::new().set_num_format("# ##0.00").set_border(FormatBorder::Thin);
    let money_red = Format::new().set_num_format("# ##0.00").set_border(FormatBorder::Thin).set_font_color("#C00000");
    let text = Format::new().set_border(FormatBorder::Thin);
    let int = Format::new().set_num_format("0").set_border(FormatBorder::Thin);
    let total_text = Format::new().set_bold().set_border(FormatBorder::Thin);
    let total_money = Format::new().set_bold().set_num_format("# ##0.00").set_border(FormatBorder::Thin);

    ws.write_string_with_format(0, 0, format!("Дебиторская задолженность на {}", r.as_of.format("%d.%m.%Y")), &title)?;
    let mut headers: Vec<String> = ["Контрагент", "ИНН", "Сегмент", "Всего", "Просрочено"].iter().map(|s| s.to_string()).collect();
    headers.extend(r.buckets.iter().map(|b| b.label.clone()));
    headers.extend(["Документов", "Дней просрочки", "Рейтинг", "Статус"].iter().map(|s| s.to_string()));
    let header_row = 2;
    for (col, h) in headers.iter().enumerate() {
        ws.write_string_with_format(header_row, col as u16, h, &head)?;
    }
    let mut row = header_row + 1;
    for item in &r.items {
        ws.write_string_with_format(row, 0, &item.full_name, &text)?;
        ws.write_string_with_format(row, 1, item.inn.as_deref().unwrap_or(""), &text)?;
        ws.write_string_with_format(row, 2, item.segment.as_deref().unwrap_or(""), &text)?;
        ws.write_number_with_format(row, 3, number(item.total), &money)?;
        ws.write_number_with_format(row, 4, number(item.overdue), if item.overdue > Money::ZERO { &money_red } else { &money })?;
        let mut col = 5u16;
        for (k, b) in item.buckets.iter().enumerate() {
            ws.write_number_with_format(row, col, number(*b), if k > 0 && *b > Money::ZERO { &money_red } else { &money })?;
            col += 1;
        }
        ws.write_number_with_format(row, col, item.open_documents as f64, &int)?;
        ws.write_number_with_format(row, col + 1, item.days_overdue as f64, &int)?;
        match item.rating_stars {
            Some(s) => ws.write_string_with_format(row, col + 2, "★".repeat(usize::try_from(s).unwrap_or(0)), &text)?,
            None => ws.write_string_with_format(row, col + 2, "", &text)?,
        };
        ws.write_string_with_format(row, col + 3, severity_label(item.severity), &text)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, format!("Итого ({} контрагентов)", r.totals.counterparties), &total_text)?;
    ws.write_string_with_format(row, 1, "", &total_text)?;
    ws.write_string_with_format(row, 2, "", &total_text)?;
    ws.write_number_with_format(row, 3, number(r.totals.total), &total_money)?;
    ws.write_number_with_format(row, 4, number(r.totals.overdue), &total_money)?;
    for (k, b) in r.totals.buckets.iter().enumerate() {
        ws.write_number_with_format(row, 5 + k as u16, number(*b), &total_money)?;
    }
    ws.write_number_with_format(row, 5 + r.totals.buckets.len() as u16, r.totals.open_documents as f64, &total_text)?;

    ws.set_freeze_panes(header_row + 1, 1)?;
    ws.set_row_height(header_row, 30)?;
    ws.set_column_width(0, 48)?;
    ws.set_column_width(1, 14)?;
    ws.set_column_width(2, 14)?;
    for col in 3..(5 + r.buckets.len() as u16) {
        ws.set_column_width(col, 16)?;
    }
    let last = headers.len() as u16;
    ws.set_column_width(last - 1, 24)?;
    ws.autofilter(header_row, 0, row - 1, last - 1)?;
    wb.save_to_buffer()
}

/// Money with a decimal comma and no grouping, as Excel with Russian settings reads it.
fn csv_money(m: Money) -> String {
    m.to_string().replace('.', ",")
}

fn csv_field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The report as CSV (UTF-8 with BOM, `;`-separated, decimal comma).
pub fn csv(r: &AgingReport) -> String {
    let mut out = String::from("\u{feff}");
    let mut headers: Vec<String> = ["Контрагент", "ИНН", "Сегмент", "Всего", "Просрочено"].iter().map(|s| s.to_string()).collect();
    headers.extend(r.buckets.iter().map(|b| b.label.clone()));
    headers.extend(["Документов", "Дней просрочки", "Рейтинг"].iter().map(|s| s.to_string()));
    out.push_str(&headers.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(";"));
    out.push_str("\r\n");
    for item in &r.items {
        let mut cells = vec![
            csv_field(&item.full_name),
            csv_field(item.inn.as_deref().unwrap_or("")),
            csv_field(item.segment.as_deref().unwrap_or("")),
            csv_money(item.total),
            csv_money(item.overdue),
        ];
        cells.extend(item.buckets.iter().map(|b| csv_money(*b)));
        cells.push(item.open_documents.to_string());
        cells.push(item.days_overdue.to_string());
        cells.push(item.rating_stars.map(|s| s.to_string()).unwrap_or_default());
        out.push_str(&cells.join(";"));
        out.push_str("\r\n");
    }
    let mut cells = vec![csv_field(&format!("Итого ({} контрагентов)", r.totals.counterparties)), String::new(), String::new(), csv_money(r.totals.total), csv_money(r.totals.overdue)];
    cells.extend(r.totals.buckets.iter().map(|b| csv_money(*b)));
    cells.push(r.totals.open_documents.to_string());
    out.push_str(&cells.join(";"));
    out.push_str("\r\n");
    out
}
